// An exclusive lock between processes: flock(2) on a lock file. A blocking flock would freeze Node's
// only thread with no way to give up, so the lock is tried without blocking, with a growing,
// jittered backoff and a bounded total wait. The kernel drops a flock when its holder exits (even by
// SIGKILL), so a dead holder never blocks anyone longer than its death takes.
import { closeSync, constants, openSync } from 'node:fs';
import { CniError, ErrorCode } from '../cni/errors.js';
import { native } from '../native/index.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const FIRST_BACKOFF_MS = 1;
const MAX_BACKOFF_MS = 20;

export interface LockOptions {
  /** The longest wait for the lock; then a CniError code 11 (try again later). Default 30 s. */
  timeoutMs?: number;
  /** What the lock guards, for the error message (e.g. "the host port store"). */
  what?: string;
}

export interface HeldLock {
  /** Unlocks and closes; safe to call twice. */
  release(): void;
}

/**
 * Takes the exclusive lock on `path` (the file is created if missing; its directory must exist).
 * flock locks belong to an open file description, so two acquisitions in one process exclude each
 * other too.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const { flock, constants: c } = native();
  // libuv opens files close-on-exec, so a child process never inherits (and keeps) the lock.
  const fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o600);
  try {
    const deadline = Date.now() + timeoutMs;
    let backoff = FIRST_BACKOFF_MS;
    while (!flock(fd, c.LOCK_EX | c.LOCK_NB)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const what = opts.what ? ` (${opts.what})` : '';
        throw new CniError(
          ErrorCode.TryAgainLater,
          `the lock ${path}${what} is still held by another process after ${timeoutMs} ms`,
          'another operation holding it is running or stuck; try again later',
        );
      }
      // Jitter (50-100% of the step) keeps contending processes from retrying in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, backoff * (0.5 + Math.random() / 2))));
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 1.5);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        flock(fd, c.LOCK_UN);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Runs `fn` while holding the lock on `path`; the lock is released however `fn` ends. */
export async function withLock<T>(path: string, fn: () => T | Promise<T>, opts: LockOptions = {}): Promise<T> {
  const held = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    held.release();
  }
}
