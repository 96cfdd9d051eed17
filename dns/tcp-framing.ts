// DNS over TCP frames every message with a two-byte length (RFC 1035 4.2.2, RFC 7766). Used by
// both sides: the responder's TCP listener and the TCP exchange with an upstream.

/** The message with its length prefix. */
export function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(message.length);
  return Buffer.concat([prefix, message]);
}

/** Collects a byte stream into messages; holds at most one partial message. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** @param maxMessage frames announcing more than this are refused (push throws): the peer is not speaking DNS. */
  constructor(private readonly maxMessage = 65535) {}

  /** The complete messages this chunk finishes, in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const messages: Buffer[] = [];
    while (this.pending.length >= 2) {
      const length = this.pending.readUInt16BE(0);
      if (length > this.maxMessage) throw new Error(`a ${length}-byte message is over the ${this.maxMessage}-byte limit`);
      if (this.pending.length < 2 + length) break;
      messages.push(this.pending.subarray(2, 2 + length));
      this.pending = this.pending.subarray(2 + length);
    }
    return messages;
  }
}
