// One DNS exchange with a server: send a message, wait for the response with the same id, over UDP
// (a fresh socket each time, so a random source port as well as a random id guard against forged
// answers) or TCP (length-prefixed). Always bounded by a timeout and cancellable. The forwarder
// uses it toward the upstreams; tests use it as their client.
import dgram from 'node:dgram';
import net from 'node:net';
import { messageId } from './message.js';
import { FrameReader, frame } from './tcp-framing.js';
import type { Server } from './upstreams.js';

export type Protocol = 'udp' | 'tcp';

export interface ExchangeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Local address to send from (tests pick one loopback address per simulated client). */
  localAddress?: string;
}

const isResponseTo = (id: number) => (m: Buffer) => m.length >= 12 && messageId(m) === id && ((m[2] ?? 0) & 0x80) !== 0;

/** Sends the message and resolves with the server's response; rejects on timeout, abort or a socket error. */
export function exchange(server: Server, message: Buffer, protocol: Protocol, opts: ExchangeOptions): Promise<Buffer> {
  const matches = isResponseTo(messageId(message));
  return new Promise<Buffer>((resolve, reject) => {
    let cleanup = (): void => undefined;
    let done = false;
    const finish = (err: Error | undefined, response?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      cleanup();
      if (err) reject(err);
      else resolve(response as Buffer);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from ${server.address} port ${server.port} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const onAbort = () => finish(new Error('cancelled'));
    if (opts.signal?.aborted) return finish(new Error('cancelled'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    if (protocol === 'udp') {
      const socket = dgram.createSocket(server.address.includes(':') ? 'udp6' : 'udp4');
      cleanup = () => socket.close();
      socket.on('error', (err) => finish(err));
      socket.on('message', (m) => {
        if (matches(m)) finish(undefined, m);
      });
      const send = () => socket.connect(server.port, server.address, () => socket.send(message));
      if (opts.localAddress) socket.bind(0, opts.localAddress, send);
      else send();
    } else {
      const reader = new FrameReader();
      const socket = net.connect({ host: server.address, port: server.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      cleanup = () => socket.destroy();
      socket.on('error', (err) => finish(err));
      socket.on('close', () => finish(new Error(`${server.address} port ${server.port} closed the connection without an answer`)));
      socket.on('connect', () => socket.write(frame(message)));
      socket.on('data', (chunk) => {
        try {
          const answer = reader.push(chunk).find(matches);
          if (answer) finish(undefined, answer);
        } catch (err) {
          finish(err as Error);
        }
      });
    }
  });
}
