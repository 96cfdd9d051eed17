// Container processes: started detached (they outlive the ctnet command) or in the foreground, and
// told apart from a later process that got the same pid by their start time (/proc/PID/stat's
// field 22). A zombie counts as exited: when ctnet is gone, the process's reaper may be slow.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Start time (clock ticks since boot) and state letter of a process, undefined when there is none. */
function procStat(pid: number): { startTime: string; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTime: fields[19]! };
}

export const startTimeOf = (pid: number): string | undefined => procStat(pid)?.startTime;

/** Whether the recorded process still runs (same pid, same start time, not a zombie). */
export function isAlive(pid: number | undefined, startTime: string | undefined): boolean {
  if (!pid) return false;
  const stat = procStat(pid);
  return !!stat && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** Starts a process detached from ctnet, output appended to `logFile`; resolves with its pid once exec'd. */
export async function startDetached(argv: readonly string[], logFile: string): Promise<{ pid: number; startTime: string }> {
  const log = openSync(logFile, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', reject);
  });
  child.unref();
  return { pid, startTime: startTimeOf(pid) ?? '' };
}

/** Runs a process in the foreground (stdio shared); `onStart` gets its pid; resolves with its exit status (128+signal when killed). */
export async function runForeground(argv: readonly string[], onStart: (pid: number, startTime: string) => Promise<void>): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  await onStart(child.pid!, startTimeOf(child.pid!) ?? '');
  return exited;
}

/** SIGTERM, then SIGKILL after `graceMs` (Docker's stop); resolves once the process is gone. */
export async function stopProcess(pid: number | undefined, startTime: string | undefined, graceMs: number): Promise<void> {
  if (!isAlive(pid, startTime)) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid!, s);
    } catch {
      // gone meanwhile
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid, startTime)) {
    if (Date.now() >= deadline) {
      signal('SIGKILL');
      break;
    }
    await sleep(20);
  }
  for (let i = 0; i < 250 && isAlive(pid, startTime); i++) await sleep(20);
}
