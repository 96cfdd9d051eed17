// The one place nat/ starts programs (iptables, conntrack): execa with an argument array, never a
// shell, and never rejecting: callers read the exit status. execa is initialized on first use, so
// plugin runs that start no program do not pay for it (see scripts/build.mjs).
import { CniError, ErrorCode } from '../cni/errors.js';

export interface Ran {
  /** undefined when the program could not be started (e.g. not installed). */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** Why it did not run or finish, for messages. */
  reason: string;
}

export async function runProgram(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  const { execa } = await import('execa');
  try {
    const r = await execa(file, args, { reject: false, timeout: opts.timeoutMs ?? 60_000, ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }) });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, reason: r.shortMessage ?? '' };
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `cannot run ${file}: ${(err as Error).message}`);
  }
}
