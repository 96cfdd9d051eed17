import test from 'ava';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { native } from '../native/index.js';
import { acquireLock, lockTimeoutMs } from './lock.js';
import { tempDir } from './testing.js';

/** Holds the lock through a separate open file description, as another process would. */
function holdElsewhere(path: string): () => void {
  const fd = openSync(path, 'r');
  const { flock, constants } = native();
  if (!flock(fd, constants.LOCK_EX | constants.LOCK_NB)) throw new Error('lock unexpectedly held');
  return () => closeSync(fd);
}

test('the lock is exclusive and released on release()', async (t) => {
  const path = join(tempDir(t), 'lock');
  const lock = await acquireLock(path, 1000);
  t.throws(() => holdElsewhere(path), { message: /unexpectedly held/ });
  lock.release();
  lock.release();
  holdElsewhere(path)();
});

test('a held lock is waited for, not failed on', async (t) => {
  const path = join(tempDir(t), 'lock');
  (await acquireLock(path, 1000)).release();
  const free = holdElsewhere(path);
  setTimeout(free, 150);
  const started = Date.now();
  const lock = await acquireLock(path, 5000);
  t.true(Date.now() - started >= 100);
  lock.release();
});

test('a lock held past the timeout is code 11 (try again later)', async (t) => {
  const path = join(tempDir(t), 'lock');
  (await acquireLock(path, 1000)).release();
  const free = holdElsewhere(path);
  t.teardown(free);
  const started = Date.now();
  const err = await t.throwsAsync(acquireLock(path, 200), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.TryAgainLater);
  t.regex(err?.message ?? '', /still held by another process after 200 ms/);
  t.true(Date.now() - started < 1000);
});

test('the timeout comes from CTNET_IPAM_LOCK_TIMEOUT_MS, else 30 s', (t) => {
  t.is(lockTimeoutMs({}), 30_000);
  t.is(lockTimeoutMs({ CTNET_IPAM_LOCK_TIMEOUT_MS: '250' }), 250);
  t.is(lockTimeoutMs({ CTNET_IPAM_LOCK_TIMEOUT_MS: 'soon' }), 30_000);
});
