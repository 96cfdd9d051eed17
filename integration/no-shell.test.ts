// No code path builds a shell command: programs are run with argument arrays (execa, spawn), never
// through a shell that would parse a name, a path or a port a user typed. A constant script run by
// `sh -c SCRIPT name args...` is allowed: the user's values arrive as its positional arguments.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './sandbox.js';

/** Product code: everything but dependencies, build output, tests and their fixtures. */
function sources(dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'dist', 'integration', 'bench', '.git'].includes(e.name) ? [] : sources(path);
    return /\.(ts|mjs)$/.test(e.name) && !/\.test\.ts$|testing\.ts$/.test(e.name) ? [path] : [];
  });
}

const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bshell\s*:\s*(true|['"`])/, 'a shell option'],
  [/\bexecaCommand(Sync)?\b|\$`|\$\(\s*\{/, "execa's command-string or script interface"],
  [/import\s*\{[^}]*\bexec(Sync)?\b[^}]*\}\s*from\s*['"](node:)?child_process|child_process\.exec(Sync)?\b|\b(execFile|spawn)(Sync)?\s*\(\s*['"`](\/bin\/)?(ba)?sh['"`]\s*,\s*\[\s*['"]-c['"]\s*,\s*`/, "child_process's shell entry points"],
  // `-c` followed by anything but a constant's name: a script assembled at run time.
  [/['"]-c['"]\s*,(?!\s*[A-Z][A-Z0-9_]*\b)/, 'a shell script built at run time'],
];

test('no product code runs a program through a shell', (t) => {
  const files = sources();
  t.true(files.length > 50, 'the scan sees the code base');
  const hits = files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => FORBIDDEN.filter(([re]) => re.test(line) && !/^\s*(\/\/|\*)/.test(line)).map(([, what]) => `${relative(repoRoot, file)}:${i + 1}: ${what}: ${line.trim()}`)),
  );
  t.deepEqual(hits, []);
});

test('the scan recognises what it forbids', (t) => {
  const bad = [
    "execa('ls', [], { shell: true })",
    'execaCommand(`ip link del ${name}`)',
    "import { exec } from 'node:child_process';",
    "spawn('sh', ['-c', `echo ${x}`])",
    "execa('bash', ['-c', 'ip link del ' + name])",
  ];
  const good = [
    "execa('ip', ['link', 'del', name])",
    "spawn('/bin/sh', ['-c', INIT, 'ctnet-init', name])",
    'const m = /^(\\d+)$/.exec(text);',
    "import { spawn } from 'node:child_process';",
  ];
  for (const line of bad) t.true(FORBIDDEN.some(([re]) => re.test(line)), line);
  for (const line of good) t.false(FORBIDDEN.some(([re]) => re.test(line)), line);
});
