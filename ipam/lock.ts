// The store's exclusive lock: flock(2) on <network dir>/lock, the same lock the reference host-local
// takes, so both plugins serialize their read-modify-write cycles on one store. A blocking flock
// would freeze Node's only thread with no way to give up, so the lock is polled without blocking,
// with a growing, jittered backoff and a bounded total wait.
import { closeSync, constants, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CniError, ErrorCode } from '../cni/errors.js';
import { native } from '../native/index.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const FIRST_BACKOFF_MS = 1;
const MAX_BACKOFF_MS = 20;

export interface HeldLock {
  release(): void;
}

/** The wait limit: CTNET_IPAM_LOCK_TIMEOUT_MS when set to a number (tests), else 30 s. */
export function lockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.CTNET_IPAM_LOCK_TIMEOUT_MS);
  return env.CTNET_IPAM_LOCK_TIMEOUT_MS && Number.isFinite(fromEnv) && fromEnv >= 0 ? fromEnv : DEFAULT_LOCK_TIMEOUT_MS;
}

/**
 * Takes the exclusive lock on `path` (created if missing), waiting up to `timeoutMs`; throws code 11
 * (try again later) when it stays held. The kernel drops the lock when the holder exits, even by
 * SIGKILL, so a dead holder never blocks anyone for longer than its death takes.
 */
export async function acquireLock(path: string, timeoutMs: number = lockTimeoutMs()): Promise<HeldLock> {
  const { flock, constants: c } = native();
  // libuv opens every file close-on-exec, so a child process can never inherit (and keep) the lock.
  const fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o600);
  try {
    const deadline = Date.now() + timeoutMs;
    let backoff = FIRST_BACKOFF_MS;
    while (!flock(fd, c.LOCK_EX | c.LOCK_NB)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new CniError(
          ErrorCode.TryAgainLater,
          `the IPAM store lock ${path} is still held by another process after ${timeoutMs} ms`,
          'another IPAM operation on this network is running or stuck; try again later',
        );
      }
      // Jitter (50-100% of the step) keeps contending processes from retrying in lockstep.
      await sleep(Math.min(left, backoff * (0.5 + Math.random() / 2)));
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
      // Closing the descriptor drops the flock; no explicit LOCK_UN needed.
      closeSync(fd);
    },
  };
}
