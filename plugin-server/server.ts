// `ctnet plugin-server`: keeps warm plugin processes (worker.ts) for the plugin executables
// (native/cni-shim.c) of its network namespace. A CNI plugin is a process per run, and a node
// process takes ~30-60 ms to start where a Go plugin runs whole in a few: a chain of three ctnet
// plugins pays that three times. With a server, each run is handed to a worker that has started
// already, and the start of its replacement happens off the runtime's clock. Like the reference
// `dhcp` plugin's daemon, or Multus's thick plugin, it is an optional companion started by the
// host (its systemd unit); without it, or when it declines, every plugin starts node itself.
//
// The socket is an abstract unix socket, so it belongs to the network namespace the server was
// started in: run one per "host" namespace whose plugins it should serve. A worker serves one run
// and ends, so no state passes from one run to the next.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import { cpus, setPriority } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { native } from '../native/index.js';

/** The abstract socket's name; native/cni-shim.c has the same. */
export const SOCKET_NAME = 'ctnet-plugin-server';

export interface PluginServerOptions {
  /**
   * Workers kept started and waiting (default 6: an ADD and then a DEL of a chain of three plugins
   * find one each). A run that finds none waiting starts node itself.
   */
  spares?: number;
  /** Log every run handed over, besides errors and declined requests. */
  verbose?: boolean;
  /** Diagnostics, one line each (default: stderr). */
  log?: (line: string) => void;
}

export interface PluginServer {
  /** Stops listening and ends the idle workers; runs in progress finish on their own. */
  close(): Promise<void>;
}

/** The worker bundle, beside this one in dist/ (or in dist/ from the sources). */
function workerBundle(): string {
  const here = import.meta.dirname;
  const found = [join(here, 'plugin-worker.cjs'), join(here, '..', 'dist', 'plugin-worker.cjs')].find((p) => existsSync(p));
  if (!found) throw new Error('dist/plugin-worker.cjs not built: run `npm run build`');
  return found;
}

// Workers that die before they are ready this many times in a row mean a broken install: stop
// starting them for a while, and let waiting shims run node themselves.
const FAILURES_BEFORE_PAUSE = 3;
const PAUSE_MS = 5000;
const STARTING_NICE = 10;
const QUIET_MS = 200;
// A chain of three plugins, ADD and DEL: six bundles; a few more for other lists.
const RECENT_RUNS = 32;
const MAX_PRELOADED = 8;

export async function startPluginServer(opts: PluginServerOptions = {}): Promise<PluginServer> {
  const spares = opts.spares ?? 6;
  if (!Number.isInteger(spares) || spares < 1 || spares > 64) throw new Error(`--spares must be 1..64, not ${spares}`);
  const log = opts.log ?? ((line: string) => process.stderr.write(`ctnet plugin server: ${line}\n`));
  const bundle = workerBundle();
  let listenFd: number;
  try {
    listenFd = native().listenAbstract(SOCKET_NAME);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error('a ctnet plugin server already listens in this network namespace');
    throw err;
  }
  // At most this many workers starting at once (a burst of runs beyond the spares starts node
  // itself meanwhile).
  const maxStarting = Math.max(2, cpus().length);
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;

  // Started and not yet ready, and ready (waiting in accept). A worker leaves both when it takes a
  // run (it closes its pipe) or ends.
  const starting = new Set<ChildProcess>();
  const idle = new Set<ChildProcess>();
  let failures = 0;
  let pausedUntil = 0;
  let closing = false;
  let announced = false;

  function refill(): void {
    if (closing || Date.now() < pausedUntil) return;
    while (idle.size + starting.size < spares && starting.size < maxStarting) startWorker();
  }

  // The runs seen last, newest first: what the workers started next preload (preload.ts).
  const recent: string[] = [];
  function ran(key: string): void {
    recent.unshift(key);
    recent.length = Math.min(recent.length, RECENT_RUNS);
  }
  const hot = () => [...new Set(recent)].slice(0, MAX_PRELOADED);

  // A replacement's start costs tens of ms of CPU, and runs come in bursts (a chain's plugins one
  // after another, an ADD and then a DEL): starting it while they run slows them down, niced or
  // not. So replacements start once no worker has been taken for QUIET_MS, or at once when none is
  // left waiting.
  let quiet: NodeJS.Timeout | undefined;
  function refillWhenQuiet(): void {
    clearTimeout(quiet);
    if (idle.size === 0) refill();
    else quiet = setTimeout(refill, QUIET_MS).unref();
  }

  function startWorker(): void {
    const child = spawn(process.execPath, [bundle, `--server=${process.pid}`, ...(opts.verbose ? ['--verbose'] : []), ...hot().map((k) => `--preload=${k}`)], {
      // A plain pipe, not node's IPC channel: a child started with one runs a plugin ~5 ms slower,
      // even once disconnected (bench/README.md).
      stdio: ['ignore', 'ignore', 'inherit', 'pipe', listenFd],
      env,
    });
    // Niced while it starts: a replacement's start (tens of ms of CPU) then yields to the runs in
    // progress instead of slowing them down; once started, the worker takes the normal priority
    // back (worker.ts).
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, STARTING_NICE);
      } catch {
        // Not permitted: it starts at the server's priority.
      }
    }
    starting.add(child);
    // The worker writes one byte when it is ready; when it has taken a run, a line naming it, then
    // it closes the pipe.
    const signals = child.stdio[3] as Readable;
    let reported = '';
    signals.on('data', (chunk: Buffer) => {
      reported += chunk.toString();
      if (reported.endsWith('\n')) ran(reported.slice(1, -1)); // after the ready byte
      if (!starting.delete(child)) return;
      failures = 0;
      idle.add(child);
      if (!announced && idle.size >= spares) {
        announced = true;
        log(`ready: ${spares} spare workers`);
      }
      refill();
    });
    signals.on('close', () => {
      if (idle.delete(child) && opts.verbose) log(`worker ${child.pid} took a run`);
      refillWhenQuiet();
    });
    signals.on('error', () => {});
    child.on('error', (err) => log(`cannot start a worker: ${err.message}`));
    child.on('exit', (code, signal) => {
      idle.delete(child);
      if (starting.delete(child) && !closing) {
        log(`a worker ended before it was ready (${signal ?? `exit ${code}`})`);
        if (++failures >= FAILURES_BEFORE_PAUSE) {
          log(`pausing worker starts for ${PAUSE_MS / 1000} s; plugins start node themselves meanwhile`);
          pausedUntil = Date.now() + PAUSE_MS;
          failures = 0;
          setTimeout(refill, PAUSE_MS).unref();
        }
      }
      refill();
    });
  }

  refill();
  log(`listening on @${SOCKET_NAME} with ${spares} spare workers (${bundle})`);

  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= (async () => {
        closing = true;
        clearTimeout(quiet);
        closeSync(listenFd);
        const ending = [...idle, ...starting].map(
          (child) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill();
            }),
        );
        idle.clear();
        starting.clear();
        await Promise.all(ending);
      })();
      return closed;
    },
  };
}
