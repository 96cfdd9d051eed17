// The daemon's pid file: claimed exclusively before anything binds (two daemons for one state dir
// would fight over the ports), marked ready once the listeners are up, removed on exit only by its
// owner, and read by the engine to know whether a responder runs. A pid file whose process is
// gone, or is no longer a responder (pid reuse), is stale.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** The marker every responder's command line carries (see daemon.ts). */
export const DAEMON_ARG = '--state-dir';

function isResponder(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(DAEMON_ARG);
  } catch {
    return true; // no /proc to tell: trust the live pid
  }
}

const READY = 'ready';

/** The file's content: "PID\n", then "PID\nready\n" once the daemon serves. */
function readPidFile(path: string): { pid: number; ready: boolean } | undefined {
  try {
    const [first, second] = readFileSync(path, 'utf8').split('\n');
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? { pid, ready: second === READY } : undefined;
  } catch {
    return undefined;
  }
}

const pidIn = (path: string): number | undefined => readPidFile(path)?.pid;

/** The pid of the responder running for this pid file, if one does (ready or still starting). */
export function runningPid(path: string): number | undefined {
  const pid = pidIn(path);
  return pid !== undefined && isResponder(pid) ? pid : undefined;
}

/** The pid of the responder serving for this pid file: running, with its listeners set up. */
export function readyPid(path: string): number | undefined {
  const content = readPidFile(path);
  return content?.ready && isResponder(content.pid) ? content.pid : undefined;
}

/** Marks our claimed pid file ready (replaced in one step, so readers never see it missing). */
export function markPidFileReady(path: string): void {
  if (pidIn(path) !== process.pid) throw new Error(`${path} is not ours`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n${READY}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Writes our pid, unless a live responder holds the file: then returns its pid. A stale file is replaced. */
export function claimPidFile(path: string): { claimed: true } | { claimed: false; holder: number } {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return { claimed: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = runningPid(path);
    if (holder !== undefined && holder !== process.pid) return { claimed: false, holder };
    rmSync(path, { force: true });
  }
  throw new Error(`cannot claim ${path}: it keeps reappearing`);
}

/** Removes the pid file if it is still ours. */
export function releasePidFile(path: string): void {
  if (pidIn(path) === process.pid) rmSync(path, { force: true });
}
