// Starting and stopping the daemon from the engine. The handshake is the pid file: the daemon
// claims it before binding and marks it ready once its listeners are set up, so "the pid file names
// a live, ready responder" means "it serves". Two engines racing to start one are safe: the daemon
// that loses the pid file exits before binding anything, and both callers get the winner's pid.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { DAEMON_ARG, readyPid, runningPid } from './pid-file.js';
import { dnsStatePaths } from './state-files.js';

export interface LaunchOptions {
  /** The daemon's executable and leading arguments, e.g. [process.execPath, '/opt/ctnet/dist/dns-daemon.cjs']. */
  command: readonly [string, ...string[]];
  /** Where the daemon's log (stderr) goes; /dev/null by default. Appended to. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the daemon to come up. */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Makes sure a responder runs for this state dir (write responder.json first: without a network
 * the daemon exits at once). Resolves with its pid, and whether this call started it.
 */
export async function ensureResponder(stateDir: string, opts: LaunchOptions): Promise<{ pid: number; started: boolean }> {
  const { pidFile } = dnsStatePaths(stateDir);
  if (runningPid(pidFile) !== undefined) return { pid: await waitReady(pidFile, opts.timeoutMs ?? 5000), started: false };

  const log = openSync(opts.logFile ?? '/dev/null', 'a');
  const [command, ...args] = opts.command;
  // Detached: the daemon outlives the ctnet command that started it and is not in its process group.
  const child = spawn(command, [...args, DAEMON_ARG, stateDir], { detached: true, stdio: ['ignore', log, log], env: opts.env ?? process.env });
  closeSync(log);
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  child.once('error', () => (exitCode = -1));
  child.unref();

  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  while (Date.now() < deadline) {
    const pid = readyPid(pidFile);
    // Another daemon won a race: ours exits at once (it cannot claim the pid file); wait for that,
    // so that on return exactly one daemon runs.
    if (pid !== undefined && (pid === child.pid || exitCode !== undefined)) return { pid, started: pid === child.pid };
    // Lost a race to another daemon (it exits), or failed: either way someone else may be serving.
    if (exitCode !== undefined && runningPid(pidFile) === undefined) {
      throw new Error(`the DNS responder exited at start (status ${exitCode})${opts.logFile ? `: see ${opts.logFile}` : ''}`);
    }
    await sleep(20);
  }
  if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  throw new Error(`the DNS responder did not come up within ${opts.timeoutMs ?? 5000} ms${opts.logFile ? `: see ${opts.logFile}` : ''}`);
}

async function waitReady(pidFile: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = readyPid(pidFile);
    if (pid !== undefined) return pid;
    if (runningPid(pidFile) === undefined) break;
    await sleep(20);
  }
  throw new Error(`the DNS responder did not become ready within ${timeoutMs} ms`);
}

/** Stops the responder of this state dir, if one runs (SIGTERM, then waits for its pid file to go). True if one was stopped. */
export async function stopResponder(stateDir: string, timeoutMs = 3000): Promise<boolean> {
  const { pidFile } = dnsStatePaths(stateDir);
  const pid = runningPid(pidFile);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (runningPid(pidFile) === undefined) return true;
    await sleep(20);
  }
  throw new Error(`the DNS responder (pid ${pid}) did not stop within ${timeoutMs} ms`);
}
