// The sockets of one listening address: UDP and TCP on the same address and port, both feeding one
// query handler. TCP is bounded: a connection count shared by all listeners (extra connections
// are closed at once), an idle timeout, a cap on queries in flight per connection (reading pauses
// until answers go out) and on the message size.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Protocol } from './exchange.js';
import { FrameReader, frame } from './tcp-framing.js';

export interface IncomingQuery {
  message: Buffer;
  protocol: Protocol;
  /** The asking client's address (canonical for its family, as the kernel reports it). */
  source: string;
}

/** Returns the response to send, or undefined to send nothing. Must not throw (a throw is logged and the query dropped). */
export type QueryHandler = (query: IncomingQuery) => Promise<Buffer | undefined>;

export interface TcpLimits {
  maxConnections: number;
  idleTimeoutMs: number;
  maxInFlightPerConnection: number;
}

/** The TCP connections of every listener, counted against one limit (each listener closes its own). */
export class TcpConnections {
  private readonly open = new Set<net.Socket>();

  constructor(readonly limits: TcpLimits) {}

  get count(): number {
    return this.open.size;
  }

  /** Takes the connection in, or refuses it (false) when the limit is reached. */
  admit(socket: net.Socket): boolean {
    if (this.open.size >= this.limits.maxConnections) return false;
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    return true;
  }
}

export interface ListenerOptions {
  tcp: TcpConnections;
  /** A TCP frame announcing more ends the connection (the handler bounds UDP datagrams itself). */
  maxQueryBytes: number;
  onError: (err: unknown) => void;
}

export class Listener {
  private constructor(
    readonly address: string,
    readonly port: number,
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    private readonly connections: Set<net.Socket>,
  ) {}

  /** Binds UDP and TCP on address:port; rejects (with nothing left open) if either cannot bind. */
  static async open(address: string, port: number, handler: QueryHandler, opts: ListenerOptions): Promise<Listener> {
    const v6 = address.includes(':');
    const udp = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
    // This listener's own connections, so closing it (a network removed) does not wait for them to idle out.
    const connections = new Set<net.Socket>();
    let closed = false;
    udp.once('close', () => (closed = true));
    const tcp = net.createServer({ allowHalfOpen: true }, (socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
      serveTcp(socket, handler, opts);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address, port, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      // With port 0 (tests), TCP takes the port UDP was given.
      const udpPort = udp.address().port;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: address, port: udpPort, ipv6Only: v6, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      udp.on('error', opts.onError);
      tcp.on('error', opts.onError);
      udp.on('message', (message, peer) => {
        handler({ message, protocol: 'udp', source: peer.address })
          .then((response) => {
            // A reply that cannot go out (the client is gone, shutdown) is that client's loss, not worth a log line each.
            if (response && !closed) udp.send(response, peer.port, peer.address, () => undefined);
          })
          .catch(opts.onError);
      });
      return new Listener(address, udpPort, udp, tcp, connections);
    } catch (err) {
      closeQuietly(udp, tcp);
      throw err;
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.tcp.close(() => resolve());
      for (const s of this.connections) s.destroy();
      closeQuietly(this.udp);
    });
  }
}

function closeQuietly(udp: dgram.Socket, tcp?: net.Server): void {
  try {
    udp.close();
  } catch {
    // never bound, or already closed
  }
  tcp?.close();
}

function serveTcp(socket: net.Socket, handler: QueryHandler, opts: ListenerOptions): void {
  socket.on('error', () => undefined); // resets from clients are routine; the 'close' that follows cleans up
  if (!opts.tcp.admit(socket)) {
    socket.destroy();
    return;
  }
  const { idleTimeoutMs, maxInFlightPerConnection } = opts.tcp.limits;
  const reader = new FrameReader(opts.maxQueryBytes);
  const source = socket.remoteAddress ?? '';
  let inFlight = 0;
  let readEnded = false;
  socket.setTimeout(idleTimeoutMs, () => socket.destroy());
  socket.on('end', () => {
    readEnded = true;
    if (inFlight === 0) socket.end();
  });
  socket.on('data', (chunk) => {
    let messages: Buffer[];
    try {
      messages = reader.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const message of messages) {
      inFlight++;
      if (inFlight >= maxInFlightPerConnection) socket.pause();
      handler({ message, protocol: 'tcp', source })
        .then((response) => {
          if (response && socket.writable) socket.write(frame(response));
        })
        .catch(opts.onError)
        .finally(() => {
          inFlight--;
          if (inFlight < maxInFlightPerConnection && !socket.destroyed) socket.resume();
          if (readEnded && inFlight === 0) socket.end();
        });
    }
  });
}
