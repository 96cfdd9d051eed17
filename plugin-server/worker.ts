// A warm plugin process, started ahead of time by the plugin server (server.ts): node has started
// and this module is loaded; it waits in accept(2) on the server's socket. Given
// a connection from a plugin shim (native/cni-shim.c), it checks who is asking (request.ts), then
// becomes that plugin's process: the shim's stdin, stdout and stderr, arguments, environment,
// working directory and umask, and `start.cjs <bundle>` run as the shim would have run them. Its
// exit status goes back to the shim. It serves one run and ends, so every run starts from a fresh
// process, as with exec. If the shim goes away first (a runtime killing a plugin on a timeout), the
// run is ended the same way.
import { closeSync, readdirSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { setPriority } from 'node:os';
import { basename } from 'node:path';
import { native } from '../native/index.js';
import { preload, runKey } from './preload.js';
import { identity, parseRequest, refusal, type PluginRequest } from './request.js';

// From the server: a pipe to tell it this worker is ready (a byte) and then taken (what the run is,
// then closed), and its socket.
const SIGNAL_FD = 3;
const LISTEN_FD = 4;
const REQUEST_TIMEOUT_MS = 5000;
const verbose = process.argv.includes('--verbose');
// The server, named by it: process.ppid is 1 already if it died while this process started.
const serverPid = Number(process.argv.find((a) => a.startsWith('--server='))?.slice('--server='.length));
const addon = native();
const load = createRequire(import.meta.url);
const own = identity(import.meta.dirname);

const preloaded = preload(process.argv.filter((a) => a.startsWith('--preload=')).map((a) => a.slice('--preload='.length)));
if (verbose && preloaded.length) log(`preloaded ${preloaded.join(', ')}`);
// The server niced this process for its start; a worker that waits answers at once.
unnice();
writeSync(SIGNAL_FD, 'R');
const { fd, request, fds } = takeRequest();
// The server hears what the run is (for the workers it starts next to preload), then sees the pipe
// close: this worker is taken, and a replacement starts. What the plugin runs must not hold the
// server's socket.
writeSync(SIGNAL_FD, `${runKey(request.bundle, request.env.CNI_COMMAND)}\n`);
closeSync(SIGNAL_FD);
closeSync(LISTEN_FD);
serve(fd, request, fds);

/** The priority of a plugin process for every thread (nice is per thread on Linux, and node's threads were made niced). */
function unnice(): void {
  try {
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), 0);
  } catch {
    // Not permitted (not root): it runs niced.
  }
}

/**
 * The first connection that brings a request this worker may run. One whose shim gave up waiting
 * for its hello (it found no free worker in time and started node itself) has closed, and one
 * declined is told so (its shim then starts node itself): the worker waits for the next.
 */
function takeRequest(): { fd: number; request: PluginRequest; fds: number[] } {
  for (;;) {
    const fd = addon.acceptConnection(LISTEN_FD, serverPid);
    let fds: number[] = [];
    try {
      writeSync(fd, 'H');
      const received = addon.receiveRequest(fd, REQUEST_TIMEOUT_MS);
      fds = received.fds;
      const request = parseRequest(received.payload);
      if (fds.length !== 3) throw new Error(`${fds.length} descriptors came with the request, not 3`);
      const peer = addon.peerCredentials(fd);
      const why = refusal(request, peer, own);
      if (why === undefined) {
        if (verbose) log(`running ${basename(request.bundle, '.cjs')} ${request.env.CNI_COMMAND ?? ''} for pid ${peer.pid}`);
        return { fd, request, fds };
      }
      log(`declined pid ${peer.pid}: ${why}`);
      writeSync(fd, 'D');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ECONNRESET' && code !== 'EPIPE') log(`bad request: ${(err as Error).message}`);
    }
    for (const f of [...fds, fd]) closeSync(f);
  }
}

function serve(fd: number, request: PluginRequest, fds: number[]): void {
  addon.adoptStdio(fds[0]!, fds[1]!, fds[2]!);
  process.chdir(request.cwd);
  process.umask(request.umask);
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, request.env);
  process.argv = [process.execPath, request.start, request.bundle, ...request.args];

  writeSync(fd, 'A');
  process.on('exit', (code) => {
    const status = Buffer.alloc(4);
    status.writeInt32LE(typeof process.exitCode === 'number' ? process.exitCode : code);
    try {
      writeSync(fd, status);
    } catch {
      // The shim is gone: nobody waits for the status.
    }
  });
  const shim = new Socket({ fd, readable: true, writable: false });
  shim.on('end', () => process.kill(process.pid, 'SIGKILL'));
  shim.on('error', () => process.kill(process.pid, 'SIGKILL'));
  shim.unref();
  load(request.start);
}

/** To the server's stderr (only before the shim's stdio is adopted; process.stderr is never made here). */
function log(line: string): void {
  writeSync(2, `ctnet plugin server: worker ${process.pid}: ${line}\n`);
}
