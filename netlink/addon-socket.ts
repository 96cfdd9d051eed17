// A netlink socket driven by the native addon, from a libuv pool thread or from the calling one.
// The kernel handles a request inside the sender's sendmsg(2), so a slow one (an nf_tables commit,
// a dump of a long chain) would stall whichever thread sends it; from a pool thread it leaves
// JavaScript free, and several sockets' requests run at once. A `blocking` socket sends from the
// calling thread, which waits: for a chain of quick requests nothing else waits on (a bridge ADD's
// rtnetlink), each then costs a pool round trip less (queuing, a thread's wake-up, the event loop's:
// ~0.8 ms of a bridge ADD's ~48 here). The socket acts on the namespace it was opened in, for its life.
import { closeSync } from 'node:fs';
import { native } from '../native/index.js';
import { originalNetNs, type NetNs } from './netns.js';
import { NetlinkError, toNetlinkError } from './errors.js';
import { NLM_F, NLMSG_ERROR, nlmsghdr, parseMessages, readS32, type WireMessage } from './wire.js';

export interface OutgoingMessage {
  type: number;
  /** nlmsghdr flags besides NLM_F_REQUEST (which is always set), e.g. NLM_F_ACK or a dump. */
  flags: number;
  payload: readonly Buffer[];
}

export class AddonSocket {
  private fd: number | undefined;
  private seq = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly ns: NetNs,
    private readonly protocol: number,
    private readonly opts: { blocking?: boolean } = {},
  ) {}

  /**
   * Sends the messages in one datagram (an nfnetlink batch is several) and resolves with every
   * reply up to the ACK, error or DONE of the last message that asks for one (NLM_F_ACK or a dump),
   * each reply's seq being the index of the message it answers. One transaction at a time: concurrent ones would read each other's replies.
   * With `keep`, data replies that do not contain those bytes are dropped in the addon; with
   * `firstKept` too, the replies end with the first batch the kernel sent that holds a kept one (a
   * lookup of one rule in a chain of thousands): the socket, its dump unfinished, is then closed,
   * and the next transaction opens another.
   * Rejects with a NetlinkError naming op when the socket itself fails.
   */
  transact(op: string, messages: readonly OutgoingMessage[], keep?: Buffer, firstKept = false): Promise<WireMessage[]> {
    const answered = messages.findLastIndex((m) => (m.flags & (NLM_F.ACK | NLM_F.DUMP)) !== 0);
    if (answered < 0) return Promise.reject(NetlinkError.of('EINVAL', op, 'no message asks for a reply'));
    // Only a filtered dump can stop early, and only one that may have must give up its socket.
    const stopsEarly = firstKept && keep !== undefined;
    const run = this.tail.then(async () => {
      try {
        this.fd ??= this.ns.isSame(originalNetNs()) ? native().netlinkOpen(this.protocol) : this.ns.run(() => native().netlinkOpen(this.protocol));
        const base = this.seq + 1;
        this.seq += messages.length;
        const bytes = Buffer.concat(messages.flatMap((m, i) => [nlmsghdr(m.type, m.flags, base + i, m.payload), ...m.payload]));
        const replies = parseMessages(this.opts.blocking ? native().netlinkTransactNow(this.fd, bytes, base + answered, keep, stopsEarly) : await native().netlinkTransact(this.fd, bytes, base + answered, keep, stopsEarly));
        if (stopsEarly) this.closeNow();
        return replies.map((r) => ({ ...r, seq: r.seq - base }));
      } catch (err) {
        throw toNetlinkError(err, op);
      }
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** Closes the socket once the transaction under way (if any) is over. */
  close(): Promise<void> {
    const closing = this.tail.then(() => this.closeNow());
    this.tail = closing;
    return closing;
  }

  private closeNow(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The errno a reply list holds for message `index` (0 for an ACK), or undefined when it holds none. */
export function errnoOf(replies: readonly WireMessage[], index: number): number | undefined {
  const reply = replies.find((r) => r.seq === index && r.type === NLMSG_ERROR);
  return reply && Math.abs(readS32(reply.data));
}
