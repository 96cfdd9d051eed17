import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_ARG, claimPidFile, markPidFileReady, readyPid, releasePidFile, runningPid } from './pid-file.js';

const tempFile = (t: { teardown: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-dns-pid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'responder.pid');
};

test('claim, mark ready, release', (t) => {
  const path = tempFile(t);
  t.deepEqual(claimPidFile(path), { claimed: true });
  t.is(readFileSync(path, 'utf8'), `${process.pid}\n`);
  // This test process is no responder (no --state-dir on its command line): nothing "runs".
  t.is(runningPid(path), undefined);
  markPidFileReady(path);
  t.is(readFileSync(path, 'utf8'), `${process.pid}\nready\n`);
  releasePidFile(path);
  t.false(existsSync(path));
  writeFileSync(path, '1\n');
  t.throws(() => markPidFileReady(path), { message: /is not ours/ });
});

test('a stale pid file (dead process, or a live one that is no responder) is taken over', (t) => {
  const path = tempFile(t);
  writeFileSync(path, '999999999\n');
  t.is(runningPid(path), undefined);
  t.deepEqual(claimPidFile(path), { claimed: true });
  writeFileSync(path, `${process.ppid}\n`); // alive, but its command line has no --state-dir
  t.is(runningPid(path), undefined);
  t.deepEqual(claimPidFile(path), { claimed: true });
});

test("a live responder's pid file is not taken, nor removed by another process", async (t) => {
  const path = tempFile(t);
  // A stand-in "responder": any process whose command line carries the daemon's marker.
  // After `--`: node would refuse the marker as an option of its own and exit at once (a race this
  // test used to win only while that exit was slower than its assertions).
  const child = spawn(process.execPath, ['-e', 'process.stdout.write("up"); setTimeout(() => {}, 20000)', '--', DAEMON_ARG, 'x'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  // Its first output: node is running the script, past its option parsing.
  await new Promise((resolve) => child.stdout.once('data', resolve));
  writeFileSync(path, `${child.pid}\n`);
  t.is(runningPid(path), child.pid);
  t.is(readyPid(path), undefined);
  writeFileSync(path, `${child.pid}\nready\n`);
  t.is(readyPid(path), child.pid);
  t.deepEqual(claimPidFile(path), { claimed: false, holder: child.pid as number });
  releasePidFile(path);
  t.true(existsSync(path));
});
