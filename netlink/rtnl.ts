// An rtnetlink socket bound to one network namespace. A netlink socket acts on the namespace it was
// created in, for its whole life; npm netlink creates and binds it synchronously in its constructor,
// so it is made inside a NetNs.run() window and used from anywhere afterwards.
//
// Requests go out one at a time: the kernel runs one dump per socket and npm netlink's reply matching
// breaks when dumps overlap, so a promise chain serializes them. Only npm netlink's socket layer is
// imported (~9 ms of require time, against ~25 ms for its rtnetlink codecs); wire.ts encodes messages.
//
// A slow request (a veth's deletion waits ~20 ms for RCU grace periods) goes through
// requestOffThread(): a second socket of the same namespace, on a libuv pool thread, while
// JavaScript (and the iptables child) get on with the rest of the command.
import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink.js';
import type { NetlinkMessage } from 'netlink/dist/structs.js';
import { NetlinkError, toNetlinkError } from './errors.js';
import { originalNetNs, type NetNs } from './netns.js';
import { errnoOf, OffThreadSocket } from './off-thread-socket.js';
import { NLMSG_ERROR, NLM_F, readS32 } from './wire.js';

const NETLINK_ROUTE = 0;
/** The kernel answers in microseconds; this only keeps a plugin from hanging forever on a lost reply. */
const REQUEST_TIMEOUT_MS = 10_000;

export class Rtnl {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The socket of requestOffThread(), opened on first use. */
  private readonly offThread: OffThreadSocket;

  private constructor(
    /** The namespace every request on this socket acts on. */
    readonly ns: NetNs,
    private readonly socket: NetlinkSocket,
  ) {
    this.offThread = new OffThreadSocket(ns, NETLINK_ROUTE);
  }

  /** Opens a socket acting on ns. Cheap (well under a millisecond): open one per namespace per invocation. */
  static open(ns: NetNs): Rtnl {
    return new Rtnl(ns, inNamespace(ns, () => createNetlink(NETLINK_ROUTE)));
  }

  /**
   * Sends one request and resolves with its reply messages (none for a plain ACK). A kernel error
   * rejects with a NetlinkError naming op, e.g. "create bridge cni0".
   */
  request(op: string, type: number, payload: Buffer[], flags = 0): Promise<NetlinkMessage[]> {
    if (this.closed) return Promise.reject(NetlinkError.of('EBADF', op, `rtnetlink socket for ${this.ns.path} is closed`));
    const run = this.tail.then(() => this.send(op, type, payload, flags));
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * A request the kernel takes long over, answered by a plain ACK: sent from a pool thread, in turn
   * with this socket's other requests. Rejects with a NetlinkError naming op, as request() does.
   */
  requestOffThread(op: string, type: number, payload: Buffer[], flags = 0): Promise<void> {
    if (this.closed) return Promise.reject(NetlinkError.of('EBADF', op, `rtnetlink socket for ${this.ns.path} is closed`));
    const run = this.tail.then(async () => {
      const errno = errnoOf(await this.offThread.transact(op, [{ type, flags: flags | NLM_F.ACK, payload }]), 0);
      if (errno === undefined) throw NetlinkError.of('EPROTO', op, 'the kernel sent no acknowledgement');
      if (errno !== 0) throw NetlinkError.fromErrno(errno, op);
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** A dump request: every object of a kind (links, addresses, routes) matching the header. */
  dump(op: string, type: number, payload: Buffer[]): Promise<NetlinkMessage[]> {
    return this.request(op, type, payload, NLM_F.DUMP);
  }

  private async send(op: string, type: number, payload: Buffer[], flags: number): Promise<NetlinkMessage[]> {
    let messages: NetlinkMessage[];
    try {
      [messages] = await this.socket.request(type, payload, { flags, timeout: REQUEST_TIMEOUT_MS, checkError: false });
    } catch (err) {
      throw toNetlinkError(err, op);
    }
    const first = messages[0];
    if (first?.type === NLMSG_ERROR) {
      const errno = readS32(first.data);
      if (errno !== 0) throw NetlinkError.fromErrno(errno, op);
      return [];
    }
    return messages;
  }

  /**
   * Refuses new requests and closes the socket once those already accepted are answered (npm netlink
   * would drop them silently, leaving their promises to time out). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tail = this.tail.then(() => {
      this.socket.close();
      return this.offThread.close();
    });
  }
}

/** Runs create in ns's window; no switch for the namespace the main thread is already in. */
function inNamespace<T>(ns: NetNs, create: () => T): T {
  return ns.isSame(originalNetNs()) ? create() : ns.run(create);
}

/** Opens an Rtnl in ns, runs fn with it and closes it, whatever fn does. */
export async function withRtnl<T>(ns: NetNs, fn: (rtnl: Rtnl) => Promise<T>): Promise<T> {
  const rtnl = Rtnl.open(ns);
  try {
    return await fn(rtnl);
  } finally {
    rtnl.close();
  }
}
