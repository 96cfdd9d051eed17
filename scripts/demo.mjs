// The Quick-start demo: `ctnet run -d --name web -p 8080:80` with a small HTTP server, a fetch
// through 127.0.0.1:8080, `ctnet port web`, `ctnet network inspect bridge`, then cleanup. All of it
// runs inside a throwaway "host" network namespace with its own state dirs, so the machine's own
// network (links, routes, iptables) and /var/lib/ctnet are never touched.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ctnetBin = join(root, 'bin', 'ctnet');
const hostNs = `ctnet-demo-${randomBytes(3).toString('hex')}`;
const state = mkdtempSync(join(tmpdir(), `${hostNs}-`));
const www = join(state, 'www');
const env = { ...process.env, CTNET_ROOT: join(state, 'root'), CTNET_NAT_DATA_DIR: join(state, 'nat') };

// busybox httpd when the machine has busybox, else Python's http.server.
const server = existsSync('/bin/busybox') ? ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', www] : ['python3', '-m', 'http.server', '80', '--directory', www];
// The host side's HTTP client: Node's fetch, run inside the demo namespace.
const FETCH = `fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); }, (e) => { console.error(e.cause?.message ?? e.message); process.exit(1); })`;

const inHost = (cmd, args, opts = {}) => execa('nsenter', [`--net=/run/netns/${hostNs}`, '--', cmd, ...args], { env, ...opts });
const step = (text) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);

async function ctnet(...args) {
  step(`ctnet ${args.join(' ')}`);
  const r = await inHost(ctnetBin, args, { reject: false });
  if (r.stdout) console.log(r.stdout);
  if (r.stderr) console.error(r.stderr);
  if (r.exitCode !== 0) throw new Error(`ctnet ${args[0]} failed`);
  return r.stdout;
}

async function fetchUntilServed(url) {
  for (let i = 0; i < 50; i++) {
    const r = await inHost(process.execPath, ['-e', FETCH, url], { reject: false });
    if (r.exitCode === 0) return r.stdout;
    await sleep(100);
  }
  throw new Error(`nothing answered on ${url}`);
}

try {
  await execa('ip', ['netns', 'add', hostNs]);
  await execa('ip', ['-n', hostNs, 'link', 'set', 'lo', 'up']);
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), '<h1>Hello from a ctnet container</h1>\n');
  console.log(`(a throwaway host namespace ${hostNs} stands in for this machine; state in ${state})`);

  await ctnet('run', '-d', '--name', 'web', '-p', '8080:80', '--', ...server);
  step('GET http://127.0.0.1:8080/');
  console.log(await fetchUntilServed('http://127.0.0.1:8080/'));
  await ctnet('port', 'web');
  await ctnet('ps');
  await ctnet('network', 'inspect', 'bridge');
  await ctnet('rm', '-f', 'web');
} finally {
  // Whatever happened above: remove the container (if ctnet still can), the namespace and the state.
  await inHost(ctnetBin, ['rm', '-f', 'web'], { reject: false });
  await execa('ip', ['netns', 'delete', hostNs], { reject: false });
  rmSync(state, { recursive: true, force: true });
  step(`cleaned up: container, namespace ${hostNs} and its state removed`);
}
