// An rtnetlink socket bound to one network namespace. A netlink socket acts on the namespace it was
// created in, for its whole life, so it is made inside a NetNs.run() window (on the first request)
// and used from anywhere afterwards.
//
// Requests go out one at a time: the kernel runs one dump per socket and npm netlink's reply matching
// breaks when dumps overlap, so a promise chain serializes them. Only npm netlink's socket layer is
// used (its rtnetlink codecs cost ~25 ms of require time; wire.ts encodes messages), and it is loaded
// by the first request that needs it.
//
// A slow request goes through requestOffThread(): a second socket of the same namespace, on a libuv
// pool thread, while JavaScript (and the iptables child) get on with the rest of the command. An Rtnl
// opened with `thread` sends every request through the native addon instead, from a pool thread or
// from the calling one (addon-socket.ts says when which): a plugin's requests then never load npm
// netlink (~4 ms of a bridge DEL). A link's deletion by index, whose answer the kernel holds back
// ~20 ms for RCU grace periods, goes through deleteLink(), which resolves as soon as the link is gone.
import { closeSync } from 'node:fs';
import type { NetlinkSocket } from 'netlink/dist/netlink.js';
import { native } from '../native/index.js';
import { NetlinkError, toNetlinkError } from './errors.js';
import { originalNetNs, type NetNs } from './netns.js';
import { AddonSocket, errnoOf } from './addon-socket.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F, RTM, nlmsghdr, readS32, type WireMessage } from './wire.js';

const NETLINK_ROUTE = 0;
/** The multicast group of link notifications (RTM_NEWLINK, RTM_DELLINK). */
const RTMGRP_LINK = 1;
/** The kernel answers in microseconds; this only keeps a plugin from hanging forever on a lost reply. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The thread the native addon sends an Rtnl's requests from (see Rtnl.open). */
export type RtnlThread = 'pool' | 'caller';
export interface RtnlOptions {
  thread?: RtnlThread;
}

export class Rtnl {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** npm netlink's socket, opened by the first request sent from the main thread. */
  private socket: NetlinkSocket | undefined;
  /** The addon's sockets: from a pool thread, from the calling thread; each opened on first use. */
  private readonly pooled: AddonSocket;
  private readonly blocking: AddonSocket;

  private constructor(
    /** The namespace every request on this socket acts on. */
    readonly ns: NetNs,
    /** Where request() sends from: npm netlink's socket on the event loop, or the addon's. */
    private readonly thread: RtnlThread | undefined,
  ) {
    this.pooled = new AddonSocket(ns, NETLINK_ROUTE);
    this.blocking = new AddonSocket(ns, NETLINK_ROUTE, { blocking: true });
  }

  /**
   * A handle on ns's rtnetlink; its sockets open on first use (well under a millisecond): open one per
   * namespace per invocation. With `thread`, every request is sent by the native addon, from a libuv
   * pool thread or from the calling thread, which then waits for each answer.
   */
  static open(ns: NetNs, opts: RtnlOptions = {}): Rtnl {
    return new Rtnl(ns, opts.thread);
  }

  /**
   * Sends one request and resolves with its reply messages (none for a plain ACK). A kernel error
   * rejects with a NetlinkError naming op, e.g. "create bridge cni0".
   */
  request(op: string, type: number, payload: Buffer[], flags = 0): Promise<WireMessage[]> {
    return this.enqueue(op, () => (this.thread ? this.sendByAddon(this.thread === 'pool' ? this.pooled : this.blocking, op, type, payload, flags) : this.send(op, type, payload, flags)));
  }

  /**
   * A request the kernel takes long over, answered by a plain ACK: sent from a pool thread, in turn
   * with this socket's other requests. Rejects with a NetlinkError naming op, as request() does.
   */
  async requestOffThread(op: string, type: number, payload: Buffer[], flags = 0): Promise<void> {
    await this.enqueue(op, () => this.sendByAddon(this.pooled, op, type, payload, flags));
  }

  /**
   * Deletes link `index` (`payload`: its ifinfomsg) and resolves once the kernel has unregistered
   * it: out of its namespace, a veth's peer out of its own, their names free. The kernel answers
   * the request itself ~20 ms later, after RCU grace periods; that wait happens in a clone of the
   * process (native/link-deletion.cc), which this process does not wait for, even to exit. In turn
   * with this socket's other requests; rejects with a NetlinkError naming op, as request() does.
   */
  deleteLink(op: string, index: number, payload: Buffer[]): Promise<void> {
    return this.enqueue(op, async () => {
      let answer: number;
      try {
        const { fd, listener } = inNamespace(this.ns, openDeletionSockets);
        answer = await native().netlinkDeleteLink(fd, listener, Buffer.concat([nlmsghdr(RTM.DELLINK, NLM_F.ACK, 1, payload), ...payload]), index);
      } catch (err) {
        throw toNetlinkError(err, op);
      }
      if (answer !== 0) throw NetlinkError.fromErrno(answer, op);
    });
  }

  /** A dump request: every object of a kind (links, addresses, routes) matching the header. */
  dump(op: string, type: number, payload: Buffer[]): Promise<WireMessage[]> {
    return this.request(op, type, payload, NLM_F.DUMP);
  }

  private enqueue<T>(op: string, send: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(NetlinkError.of('EBADF', op, `rtnetlink socket for ${this.ns.path} is closed`));
    const run = this.tail.then(send);
    this.tail = run.catch(() => {});
    return run;
  }

  private async send(op: string, type: number, payload: Buffer[], flags: number): Promise<WireMessage[]> {
    let messages: WireMessage[];
    try {
      if (!this.socket) {
        const { createNetlink } = await import('netlink/dist/netlink.js');
        this.socket = inNamespace(this.ns, () => createNetlink(NETLINK_ROUTE));
      }
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

  private async sendByAddon(socket: AddonSocket, op: string, type: number, payload: Buffer[], flags: number): Promise<WireMessage[]> {
    // A dump ends with NLMSG_DONE; anything else is asked for its ACK.
    const dump = (flags & NLM_F.DUMP) === NLM_F.DUMP;
    const replies = await socket.transact(op, [{ type, flags: dump ? flags : flags | NLM_F.ACK, payload }]);
    const errno = errnoOf(replies, 0);
    if (errno) throw NetlinkError.fromErrno(errno, op);
    if (errno === undefined && !dump) throw NetlinkError.of('EPROTO', op, 'the kernel sent no acknowledgement');
    return replies.filter((r) => r.type !== NLMSG_ERROR && r.type !== NLMSG_DONE);
  }

  /**
   * Refuses new requests and closes the sockets once those already accepted are answered (npm
   * netlink would drop them silently, leaving their promises to time out). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tail = this.tail.then(() => {
      this.socket?.close();
      return Promise.all([this.pooled.close(), this.blocking.close()]);
    });
  }
}

/** A request socket and a listener of link notifications, in the calling thread's namespace. */
function openDeletionSockets(): { fd: number; listener: number } {
  const fd = native().netlinkOpen(NETLINK_ROUTE);
  try {
    return { fd, listener: native().netlinkOpen(NETLINK_ROUTE, RTMGRP_LINK) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Runs create in ns's window; no switch for the namespace the main thread is already in. */
function inNamespace<T>(ns: NetNs, create: () => T): T {
  return ns.isSame(originalNetNs()) ? create() : ns.run(create);
}

/** Opens an Rtnl in ns, runs fn with it and closes it, whatever fn does. */
export async function withRtnl<T>(ns: NetNs, fn: (rtnl: Rtnl) => Promise<T>, opts: RtnlOptions = {}): Promise<T> {
  const rtnl = Rtnl.open(ns, opts);
  try {
    return await fn(rtnl);
  } finally {
    rtnl.close();
  }
}
