// Forwarding to the upstream resolvers, bounded: at most `maxPending` queries in flight (a flood
// of external names cannot pile up sockets and memory; the excess is told SERVFAIL at once), each
// upstream tried in turn with its own timeout. The query goes out byte for byte under a fresh
// random id, and the answer comes back byte for byte under the client's id, so nothing the
// responder does not understand (DNSSEC, unknown types, EDNS options) is lost on the way.
import { randomInt } from 'node:crypto';
import { type Protocol, exchange } from './exchange.js';
import { messageId, withId } from './message.js';
import type { Server } from './upstreams.js';

export interface ForwarderLimits {
  /** Queries in flight to the upstreams at once. */
  maxPending: number;
  /** How long each upstream gets to answer. */
  timeoutMs: number;
  /** How many upstreams one query tries (resolv.conf's MAXNS is 3). */
  maxAttempts: number;
}

export const DEFAULT_FORWARDER_LIMITS: ForwarderLimits = { maxPending: 256, timeoutMs: 2000, maxAttempts: 3 };

export type ForwardResult = { kind: 'answer'; message: Buffer } | { kind: 'busy' } | { kind: 'failed'; reason: string };

export class Forwarder {
  private readonly inFlight = new Set<AbortController>();

  constructor(private readonly limits: ForwarderLimits = DEFAULT_FORWARDER_LIMITS) {}

  get pending(): number {
    return this.inFlight.size;
  }

  async forward(query: Buffer, upstreams: readonly Server[], protocol: Protocol): Promise<ForwardResult> {
    if (upstreams.length === 0) return { kind: 'failed', reason: 'no upstream resolver configured' };
    if (this.inFlight.size >= this.limits.maxPending) return { kind: 'busy' };
    const controller = new AbortController();
    this.inFlight.add(controller);
    const clientId = messageId(query);
    let reason = '';
    try {
      for (const server of upstreams.slice(0, this.limits.maxAttempts)) {
        const id = randomInt(0x10000);
        try {
          const answer = await exchange(server, withId(query, id), protocol, { timeoutMs: this.limits.timeoutMs, signal: controller.signal });
          return { kind: 'answer', message: withId(answer, clientId) };
        } catch (err) {
          if (controller.signal.aborted) return { kind: 'failed', reason: 'shutting down' };
          reason = (err as Error).message;
        }
      }
      return { kind: 'failed', reason };
    } finally {
      this.inFlight.delete(controller);
    }
  }

  /** Cancels every query in flight (shutdown). */
  close(): void {
    for (const c of this.inFlight) c.abort();
  }
}
