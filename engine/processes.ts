// Container processes: started detached (they outlive the ctnet command; ctnet-monitor records how
// they end) or in the foreground, and told apart from a later process that got the same pid by their
// start time (/proc/PID/stat's field 22). A zombie counts as exited: its reaper may be slow.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { monitorPath } from '../native/index.js';

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

/**
 * Starts a process detached from ctnet, under ctnet-monitor (native/monitor.c), which stays its
 * parent and writes its exit status to `exitFile` when it ends. Output is appended to `logFile`.
 * Resolves with the process's own pid once it is exec'd; rejects, naming the command, when it
 * cannot be.
 */
export async function startDetached(argv: readonly string[], logFile: string, exitFile: string): Promise<{ pid: number; startTime: string }> {
  const log = openSync(logFile, 'a');
  const monitor = spawn(monitorPath(), [exitFile, ...argv], { detached: true, stdio: ['ignore', log, log, 'pipe'] });
  closeSync(log);
  const report = monitor.stdio[3] as Readable;
  let line = '';
  report.setEncoding('utf8').on('data', (d: string) => (line += d));
  await new Promise<void>((resolve, reject) => {
    monitor.once('error', reject);
    report.once('close', resolve);
  });
  monitor.unref();
  const pid = /^pid (\d+)$/.exec(line.trim())?.[1];
  if (!pid) {
    const why = /^error \d+ (.*)$/.exec(line.trim())?.[1] ?? `the monitor failed (${line.trim() || 'no report'})`;
    throw new Error(`cannot start the container's command: ${why}`);
  }
  return { pid: Number(pid), startTime: startTimeOf(Number(pid)) ?? '' };
}

/** The exit status ctnet-monitor recorded, when the process has ended. */
export function recordedExit(exitFile: string): number | undefined {
  try {
    const code = Number(readFileSync(exitFile, 'utf8').trim());
    return Number.isInteger(code) ? code : undefined;
  } catch {
    return undefined;
  }
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
