// Netlink failures as errno-coded errors that say which operation on which object failed, e.g.
// "create bridge cni0: EEXIST (File exists)". The kernel answers a rejected request with a negative
// errno in an NLMSG_ERROR message; npm netlink would turn it into a bare Error("Request rejected:
// EEXIST") that keeps only the name, so rtnl.ts sends requests with checkError off and hands the
// errno itself to NetlinkError.fromErrno.
import type * as os from 'node:os';

/** strerror(3) texts for the errnos rtnetlink returns; libuv's own texts talk about sockets and files. */
const DESCRIPTIONS: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  EMSGSIZE: 'Message too long',
  EPROTONOSUPPORT: 'Protocol not supported',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  ENOBUFS: 'No buffer space available',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
};

type ErrnoName = keyof typeof os.constants.errno;

// node:os is loaded with the first error: a plugin run that meets none spares its ~0.4 ms. Not by
// node:module's createRequire, whose module loads the ES module loader with it (~0.25 ms of every
// run); require() is the bundles' own (and the library's), for a node older than getBuiltinModule.
let errnoTable: { numbers: typeof os.constants.errno; names: Map<number, string> } | undefined;
function errnos(): NonNullable<typeof errnoTable> {
  if (!errnoTable) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fallback only the bundles reach (above)
    const numbers = (process.getBuiltinModule?.('node:os') ?? (require('node:os') as typeof os)).constants.errno;
    const names = new Map<number, string>();
    for (const [name, value] of Object.entries(numbers)) {
      // EOPNOTSUPP and ENOTSUP share 95 on Linux; the kernel and iproute2 say EOPNOTSUPP.
      if (!names.has(value) || name === 'EOPNOTSUPP') names.set(value, name);
    }
    errnoTable = { numbers, names };
  }
  return errnoTable;
}

export class NetlinkError extends Error {
  constructor(
    /** Errno name, e.g. "EEXIST"; "EUNKNOWN" when the failure carried none. */
    readonly code: string,
    /** Positive errno number, 0 when unknown. */
    readonly errno: number,
    /** The operation and object, e.g. "create bridge cni0". */
    readonly op: string,
    detail?: string,
  ) {
    super(`${op}: ${code} (${detail ?? DESCRIPTIONS[code] ?? 'unknown error'})`);
    this.name = 'NetlinkError';
  }

  /** From a kernel errno as carried by NLMSG_ERROR (negative or positive). */
  static fromErrno(errno: number, op: string): NetlinkError {
    const n = Math.abs(errno);
    return new NetlinkError(errnos().names.get(n) ?? `E${n}`, n, op);
  }

  /** A failure ctnet detects itself (a timeout, a link of the wrong kind) with an errno-style code. */
  static of(code: ErrnoName, op: string, detail?: string): NetlinkError {
    return new NetlinkError(code, errnos().numbers[code], op, detail);
  }
}

/** Anything else a request threw (a send failure from the native socket, a timeout) as a NetlinkError. */
export function toNetlinkError(err: unknown, op: string): NetlinkError {
  if (err instanceof NetlinkError) return err;
  const e = err as Partial<NodeJS.ErrnoException>;
  if (typeof e.errno === 'number' && e.errno !== 0) return NetlinkError.fromErrno(e.errno, op);
  const message = err instanceof Error ? err.message : String(err);
  if (message === 'Timeout has been reached') return NetlinkError.of('ETIMEDOUT', op, 'no answer from the kernel');
  return new NetlinkError(typeof e.code === 'string' ? e.code : 'EUNKNOWN', 0, op, message);
}

/** True when err is a NetlinkError with one of the codes, e.g. isNetlinkError(err, 'EEXIST'). */
export function isNetlinkError(err: unknown, ...codes: string[]): err is NetlinkError {
  return err instanceof NetlinkError && (codes.length === 0 || codes.includes(err.code));
}
