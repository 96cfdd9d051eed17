// The native side, built in native/build from this file's location in the sources and in the
// bundles under dist/ alike: the addon (setns, flock, netlink requests off the main thread, the
// plugin server's hand-over) and the monitor of detached containers. (The plugins' executables,
// native/cni-shim.c, are compiled per build by scripts/build.mjs.)
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  setns(fd: number, nstype: number): void;
  flock(fd: number, op: number): boolean;
  /** Every regular file directly in `dir`: names and contents, each followed by a NUL but the last. */
  readFiles(dir: string): string;
  /**
   * A netlink socket of `protocol` in the calling thread's namespace, subscribed to the multicast
   * groups of the `groups` bitmask; close it with fs.closeSync.
   */
  netlinkOpen(protocol: number, groups?: number): number;
  /**
   * Sends a request (one message, or an nfnetlink batch) from a libuv pool thread; resolves with
   * every reply byte up to the ACK, error or DONE of the message numbered `until` (or an error for the first).
   * With `keep`, only the replies whose bytes contain it, besides errors, ACKs and DONE; with
   * `firstKept` too, up to the first received batch that holds one such reply (a dump is then left
   * unfinished on the socket, which must be closed).
   */
  netlinkTransact(fd: number, request: Buffer, until: number, keep?: Buffer, firstKept?: boolean): Promise<Buffer>;
  /** netlinkTransact on the calling thread, which waits for the replies (or throws). */
  netlinkTransactNow(fd: number, request: Buffer, until: number, keep?: Buffer, firstKept?: boolean): Buffer;
  /**
   * Sends an RTM_DELLINK of link `index` on `fd` from a clone of the process and resolves with 0 once
   * `listener` (subscribed to RTMGRP_LINK in the link's namespace) has seen the link unregistered, or
   * with the kernel's answer (0 or -errno) if that comes first: not after the RCU wait the kernel
   * makes before it answers (native/link-deletion.cc). It closes both sockets.
   */
  netlinkDeleteLink(fd: number, listener: number, request: Buffer, index: number): Promise<number>;
  /**
   * Ends the process with `code` at once (_exit), without node's teardown; first puts back the
   * O_NONBLOCK flag of stdin, stdout and stderr as it was when the addon was loaded, as node's exit
   * does. Output must have been written synchronously; 'exit' listeners do not run.
   */
  exitNow(code: number): never;
  /** The pid, uid and gid of the process at the other end of unix socket `fd` (SO_PEERCRED). */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  /**
   * A plugin shim's request on unix socket `fd` (native/cni-shim.c): its payload and the descriptors
   * it carried (close-on-exec). Throws ETIMEDOUT when it is not whole within `timeoutMs`, EPROTO
   * when it is not a request, ECONNRESET when the peer closed first.
   */
  receiveRequest(fd: number, timeoutMs: number): { payload: Buffer; fds: number[] };
  /** A listening unix socket on the abstract `name` (exactly its bytes), in this thread's network namespace. */
  listenAbstract(name: string): number;
  /**
   * Blocks until a connection comes on `listenFd` and returns it. The process dies with its parent
   * while it waits (and if `parentPid` is already gone).
   */
  acceptConnection(listenFd: number, parentPid: number): number;
  /** Makes the three descriptors this process's stdin, stdout and stderr (then closes them). */
  adoptStdio(stdin: number, stdout: number, stderr: number): void;
  constants: {
    CLONE_NEWNET: number;
    CLONE_NEWNS: number;
    LOCK_SH: number;
    LOCK_EX: number;
    LOCK_UN: number;
    LOCK_NB: number;
  };
}

let addon: NativeAddon | undefined;

/** native/build/Release, found from this file's location (sources and bundles alike). */
function buildDir(): string {
  // import.meta.dirname: Node 20.11 and later, and the bundles (scripts/build.mjs).
  let dir = import.meta.dirname ?? dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'native', 'build', 'Release');
    if (existsSync(join(candidate, 'ctnet_native.node'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('ctnet native addon not built: run `npm ci` (or `npm run install`)');
    dir = parent;
  }
}

/** The conmon-like monitor of detached containers (native/monitor.c). */
export const monitorPath = (): string => join(buildDir(), 'ctnet-monitor');

export function native(): NativeAddon {
  if (!addon) {
    // process.dlopen, not require(): the path is known, so node's module resolution (package scope
    // lookups and realpath, ~0.5 ms of every plugin run) has nothing to find.
    const module = { exports: {} as NativeAddon };
    process.dlopen(module, join(buildDir(), 'ctnet_native.node'));
    addon = module.exports;
  }
  return addon;
}

/**
 * Every regular file directly in `dir`, from one system-call loop: its name then its content
 * (UTF-8), alternating (files[2k] is a name, files[2k + 1] that file's content).
 */
export function readFiles(dir: string): string[] {
  const all = native().readFiles(dir);
  return all === '' ? [] : all.split('\0');
}
