// How long an IPAM operation waits for the store's lock (<network dir>/lock, the same flock the
// reference host-local takes, so both plugins serialize their read-modify-write cycles on one
// store). The locking itself is lock/flock.ts.
import { DEFAULT_LOCK_TIMEOUT_MS } from '../lock/flock.js';

/** The wait limit: CTNET_IPAM_LOCK_TIMEOUT_MS when set to a number (tests), else 30 s. */
export function lockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.CTNET_IPAM_LOCK_TIMEOUT_MS);
  return env.CTNET_IPAM_LOCK_TIMEOUT_MS && Number.isFinite(fromEnv) && fromEnv >= 0 ? fromEnv : DEFAULT_LOCK_TIMEOUT_MS;
}
