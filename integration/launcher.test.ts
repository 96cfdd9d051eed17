// The launchers and dist/start.cjs: a VERSION probe is answered from the answer each bundle printed
// at build time, identical to what the bundle says itself; everything else runs the bundle, and
// execa lives in a bundle of its own that only the runs starting a program load. A plugin ends
// through the addon's exitNow, which gives stdio back its flags as node's own exit would.
import test from 'ava';
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniBin, repoRoot } from './sandbox.js';

const start = join(repoRoot, 'dist', 'start.cjs');
const env = { CNI_COMMAND: 'VERSION' };

test('every plugin\'s VERSION through its launcher is what its bundle answers itself', async (t) => {
  const plugins = readdirSync(cniBin);
  t.true(plugins.length >= 9, plugins.join(' '));
  for (const p of plugins) {
    const launched = await execa(join(cniBin, p), [], { env, stdin: 'ignore' });
    const direct = await execa(process.execPath, [join(repoRoot, 'dist', 'plugins', `${p}.cjs`)], { env, stdin: 'ignore' });
    t.is(launched.stdout, direct.stdout, p);
    t.deepEqual(JSON.parse(launched.stdout).supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  }
});

test('start.cjs serves VERSION from <bundle>.version without loading the bundle, and runs the bundle otherwise', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'p.cjs');
  writeFileSync(bundle, 'process.stdout.write(`ran ${process.env.CNI_COMMAND} ${process.argv.slice(2).join(" ")}`);');
  const run = (e: Record<string, string>, args: string[] = []) => execa(process.execPath, [start, bundle, ...args], { env: e, stdin: 'ignore', reject: false });

  t.is((await run(env)).stdout, 'ran VERSION ', 'no recorded answer: the bundle answers');
  writeFileSync(`${bundle}.version`, '{"recorded":true}\n');
  t.is((await run(env)).stdout, '{"recorded":true}');
  t.is((await run(env, ['--help'])).stdout, 'ran VERSION --help', '--help is the bundle\'s');
  t.is((await run({ CNI_COMMAND: 'ADD' })).stdout, 'ran ADD ');
  t.is((await run({ CNI_COMMAND: 'DEL' })).stdout, 'ran DEL ');
  t.is((await run({})).stdout, 'ran undefined ');
  // A code cache per command (and one for runs without), none for VERSION.
  t.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.v8cache')).sort(), ['p.cjs.ADD.v8cache', 'p.cjs.DEL.v8cache', 'p.cjs.run.v8cache']);
});

test('a run that fails writes no code cache; the next one that succeeds does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'p.cjs');
  writeFileSync(bundle, 'process.exitCode = process.env.FAIL ? 1 : 0;');
  const run = (e: Record<string, string>) => execa(process.execPath, [start, bundle], { env: { CNI_COMMAND: 'ADD', ...e }, stdin: 'ignore', reject: false });

  t.is((await run({ FAIL: '1' })).exitCode, 1);
  t.false(existsSync(`${bundle}.ADD.v8cache`), 'a failed run compiled too little of a real one to keep');
  t.is((await run({})).exitCode, 0);
  t.true(existsSync(`${bundle}.ADD.v8cache`));
});

test('a plugin\'s quick exit keeps its exit code and runs start.cjs\'s exit listener', async (t) => {
  // STATUS of `none`: a command no other test gives it, so its cache is this test's alone.
  const cache = join(repoRoot, 'dist', 'plugins', 'none.cjs.STATUS.v8cache');
  rmSync(cache, { force: true });
  const status = (cniVersion: string) =>
    execa(join(cniBin, 'none'), [], { env: { CNI_COMMAND: 'STATUS', CNI_PATH: cniBin }, input: JSON.stringify({ cniVersion, name: 'n', type: 'none' }), reject: false });
  const refused = await status('1.0.0');
  t.is(refused.exitCode, 1);
  t.is(JSON.parse(refused.stdout).code, 1, refused.stdout);
  t.false(existsSync(cache));
  const fine = await status('1.1.0');
  t.is(fine.exitCode, 0, fine.stdout);
  t.is(fine.stdout, '');
  t.true(existsSync(cache), 'the exit listener wrote the code cache');
});

test('exitNow gives stdio back the O_NONBLOCK flag node\'s stream took, as node\'s own exit does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-exit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const addon = join(repoRoot, 'native', 'build', 'Release', 'ctnet_native.node');
  const nonBlocking = (fd: number) => (parseInt(/^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8) & 0o4000) !== 0;
  // The child's stderr: a FIFO whose open file description this process shares with it, as a
  // runtime shares its pipe. Writing to process.stderr makes node open it as a non-blocking pipe.
  const child = async (end: string) => {
    const fifo = join(dir, `fifo-${end}`);
    await execa('mkfifo', [fifo]);
    const fd = openSync(fifo, 'r+');
    t.teardown(() => closeSync(fd));
    const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addon)});
process.on('exit', () => require('fs').writeSync(1, 'listener '));
process.stderr.write('x');
const flags = parseInt(/^flags:\\s*([0-7]+)/m.exec(require('fs').readFileSync('/proc/self/fdinfo/2', 'utf8'))[1], 8);
require('fs').writeSync(1, 'non-blocking while running: ' + ((flags & 0o4000) !== 0) + ' ');
${end}`;
    // spawnSync: execa takes no file descriptor of this process's for the child's stderr.
    const run = spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', fd], encoding: 'utf8' });
    return { run, nonBlockingAfter: nonBlocking(fd) };
  };

  const fast = await child('m.exports.exitNow(3);');
  t.is(fast.run.status, 3);
  t.is(fast.run.stdout, 'non-blocking while running: true ', 'no exit listener runs in exitNow itself');
  t.false(fast.nonBlockingAfter, 'the shared description is blocking again');
  // The witness: killed, the process leaves the flag as node's stream set it.
  const killed = await child("process.kill(process.pid, 'SIGKILL');");
  t.is(killed.run.signal, 'SIGKILL');
  t.true(killed.nonBlockingAfter);
});

test('a bundle\'s require of a bundle beside it goes through start.cjs: run once, and given a code cache', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'plugins'));
  mkdirSync(join(dir, 'vendor'));
  const bundle = join(dir, 'plugins', 'p.cjs');
  const vendor = join(dir, 'vendor', 'v.cjs');
  writeFileSync(vendor, 'globalThis.vendorRuns = (globalThis.vendorRuns ?? 0) + 1; exports.hello = () => "hello";');
  // As esbuild writes the executables' import('execa'): a require of ../vendor/<name>.cjs.
  writeFileSync(bundle, `if (process.env.CNI_COMMAND === 'ADD') { const a = require('../vendor/v.cjs'), b = require('../vendor/v.cjs'); process.stdout.write(\`\${a.hello()} \${a === b} \${globalThis.vendorRuns}\`); } else process.stdout.write('no program');`);
  const run = (command: string) => execa(process.execPath, [start, bundle], { env: { CNI_COMMAND: command }, stdin: 'ignore' });

  t.is((await run('DEL')).stdout, 'no program');
  t.false(existsSync(`${vendor}.v8cache`), 'a run that does not require it leaves it alone');
  t.is((await run('ADD')).stdout, 'hello true 1');
  t.true(existsSync(`${vendor}.v8cache`), 'its code cache is written');
  t.is((await run('ADD')).stdout, 'hello true 1', 'and accepted');
});

test('the executables\' bundles leave execa to dist/vendor/execa.cjs (the library keeps its own)', (t) => {
  const marker = 'createExeca';
  for (const p of readdirSync(cniBin)) t.false(readFileSync(join(repoRoot, 'dist', 'plugins', `${p}.cjs`), 'utf8').includes(marker), p);
  t.false(readFileSync(join(repoRoot, 'dist', 'cli.cjs'), 'utf8').includes(marker), 'cli');
  t.true(readFileSync(join(repoRoot, 'dist', 'vendor', 'execa.cjs'), 'utf8').includes(marker));
  t.true(readFileSync(join(repoRoot, 'dist', 'lib', 'index.js'), 'utf8').includes(marker), 'the library keeps execa inside');
});
