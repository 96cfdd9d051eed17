// Network namespaces: open one by path, and run synchronous code inside it on the main thread.
//
// setns(2) moves only the calling thread. Node's libuv threadpool threads are created by the thread
// that first queues work, and inherit that thread's namespace forever; so the pool is started here,
// before the first switch, and code inside a switched window must be synchronous (no await, no async
// fs). Sockets and files opened inside the window stay bound to the namespace they were opened in.
import { closeSync, fstatSync, openSync, readlinkSync, statSync, access } from 'node:fs';
import { native } from '../native/index.js';

export class NetNsError extends Error {
  constructor(
    readonly code: 'ENOENT' | 'ENOTNETNS' | 'EACCES' | 'EASYNC',
    msg: string,
  ) {
    super(msg);
    this.name = 'NetNsError';
  }
}

let poolStarted = false;

/** Starts libuv's threadpool in the current (host) namespace. Idempotent and cheap. */
export function startThreadpool(): void {
  if (poolStarted) return;
  // Queuing any fs request spawns every pool thread synchronously, here, in this namespace.
  access('/', () => {});
  poolStarted = true;
}

/**
 * Throws unless fd is a network namespace. Its /proc/self/fd link names the type ("net:[4026531840]")
 * for /proc/PID/ns files, but reads as the mount point for a bind mount (/run/netns/X): then setns()
 * itself is asked, switching there and straight back.
 */
function checkNetNs(fd: number, path: string): void {
  const type = /^(\w+):\[\d+\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  if (type === 'net') return;
  if (type) throw new NetNsError('ENOTNETNS', `${path} is not a network namespace (it is a ${type} namespace)`);
  try {
    switched(fd, () => undefined);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw new NetNsError('EACCES', `cannot enter network namespace ${path}: permission denied`);
    if (code === 'EINVAL') throw new NetNsError('ENOTNETNS', `${path} is not a network namespace (it is ${safeKind(path)})`);
    throw err;
  }
}

export class NetNs {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly fd: number,
    /** Kernel identity, e.g. "net:[4026531840]"; equal for two handles of one namespace. */
    readonly id: string,
  ) {}

  /** Opens and validates a network namespace file (/run/netns/X, /proc/PID/ns/net, a bind mount...). */
  static open(path: string): NetNs {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new NetNsError('ENOENT', `network namespace ${path} does not exist`);
      if (code === 'EACCES' || code === 'EPERM') throw new NetNsError('EACCES', `cannot open network namespace ${path}: permission denied`);
      throw new NetNsError('ENOTNETNS', `cannot open network namespace ${path}: ${(err as Error).message}`);
    }
    try {
      checkNetNs(fd, path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    // An nsfs file's inode number is the namespace's.
    return new NetNs(path, fd, `net:[${fstatSync(fd).ino}]`);
  }

  /** Runs fn with the main thread inside this namespace, and always switches back. */
  run<T>(fn: () => T): T {
    if (this.closed) throw new Error(`network namespace ${this.path} is closed`);
    return switched(this.fd, fn);
  }

  isSame(other: NetNs): boolean {
    return this.id === other.id;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

function safeKind(path: string): string {
  try {
    const st = statSync(path);
    if (st.isDirectory()) return 'a directory';
    if (st.isFile()) return 'a regular file';
    return 'not a namespace file';
  } catch {
    return 'unreadable';
  }
}

let hostNs: NetNs | undefined;

/** The namespace the process started in (the "host" side for a plugin). Opened once, never closed. */
export function originalNetNs(): NetNs {
  hostNs ??= NetNs.open('/proc/thread-self/ns/net');
  return hostNs;
}

let depth = 0;

function switched<T>(fd: number, fn: () => T): T {
  startThreadpool();
  const back = originalNetNs();
  const { setns, constants } = native();
  if (depth > 0) throw new Error('nested network namespace switch: run() windows must not nest');
  setns(fd, constants.CLONE_NEWNET);
  depth++;
  try {
    const out = fn();
    if (out instanceof Promise) {
      // Switching back before the promise settles would run its continuation in the wrong place.
      out.catch(() => {});
      throw new NetNsError('EASYNC', 'NetNs.run() needs a synchronous function; do async work outside the window');
    }
    return out;
  } finally {
    depth--;
    setns(back.fd, constants.CLONE_NEWNET);
  }
}

/** Opens a namespace, runs fn with it, and closes it. */
export function withNetNs<T>(path: string, fn: (ns: NetNs) => T): T {
  const ns = NetNs.open(path);
  try {
    const out = fn(ns);
    if (out instanceof Promise) {
      return out.finally(() => ns.close()) as T;
    }
    ns.close();
    return out;
  } catch (err) {
    ns.close();
    throw err;
  }
}
