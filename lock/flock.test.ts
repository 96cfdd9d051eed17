import test from 'ava';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { acquireLock, withLock } from './flock.js';

function lockPath(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'lock');
}

/**
 * Holds the lock from another process (util-linux flock running cat) until the returned function
 * closes cat's stdin, which ends both.
 */
async function holdInChild(path: string): Promise<() => Promise<void>> {
  const child = execa('flock', ['--exclusive', path, 'cat'], { reject: false, stdout: 'ignore' });
  // Wait until the child holds it: a non-blocking attempt from here fails.
  for (let i = 0; i < 200; i++) {
    const probe = await execa('flock', ['--nonblock', path, 'true'], { reject: false });
    if (probe.exitCode !== 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return async () => {
    child.stdin?.end();
    await child;
  };
}

test('withLock serializes callers in one process and returns the value', async (t) => {
  const path = lockPath(t);
  const order: string[] = [];
  const run = (name: string) =>
    withLock(path, async () => {
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 20));
      order.push(`${name}-`);
      return name;
    });
  t.deepEqual(await Promise.all([run('a'), run('b'), run('c')]), ['a', 'b', 'c']);
  // No interleaving: every enter is followed by its own exit.
  for (let i = 0; i < order.length; i += 2) t.is(order[i]!.slice(0, -1), order[i + 1]!.slice(0, -1));
});

test('the lock is released when fn throws', async (t) => {
  const path = lockPath(t);
  await t.throwsAsync(withLock(path, () => Promise.reject(new Error('boom'))), { message: 'boom' });
  await t.throwsAsync(
    withLock(path, () => {
      throw new Error('sync boom');
    }),
    { message: 'sync boom' },
  );
  t.is(await withLock(path, () => 42, { timeoutMs: 100 }), 42);
});

test('a lock held by another process is waited for', async (t) => {
  const path = lockPath(t);
  const free = await holdInChild(path);
  const started = Date.now();
  setTimeout(() => void free(), 150);
  t.is(await withLock(path, () => 'got it', { timeoutMs: 5000 }), 'got it');
  t.true(Date.now() - started >= 100);
});

test('a lock held past the timeout is CniError 11 naming the lock file', async (t) => {
  const path = lockPath(t);
  const free = await holdInChild(path);
  t.teardown(free);
  const started = Date.now();
  const err = await t.throwsAsync(withLock(path, () => 'never', { timeoutMs: 200, what: 'the test store' }), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.TryAgainLater);
  t.is(err?.message, `the lock ${path} (the test store) is still held by another process after 200 ms`);
  t.true(Date.now() - started < 1500);
});

test('release is idempotent and frees the lock for others', async (t) => {
  const path = lockPath(t);
  const held = await acquireLock(path);
  const probe = await execa('flock', ['--nonblock', path, 'true'], { reject: false });
  t.not(probe.exitCode, 0);
  held.release();
  held.release();
  t.is((await execa('flock', ['--nonblock', path, 'true'], { reject: false })).exitCode, 0);
});
