// DNS messages on top of dns-packet: decoding queries without ever throwing, building responses
// (flags, EDNS), and fitting a response into what the transport allows (TC and fewer answers).
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

/** RFC 1035's UDP limit, for a client that did not say it takes more (EDNS). */
export const CLASSIC_UDP_SIZE = 512;
/** The EDNS buffer size we advertise and the most we send over UDP (DNS flag day 2020: avoids fragmentation). */
export const EDNS_UDP_SIZE = 1232;
/** A length-prefixed TCP message. */
export const TCP_MAX_SIZE = 65535;

const OPCODE_QUERY = 0;
const FLAG_AA = dnsPacket.AUTHORITATIVE_ANSWER;
const FLAG_TC = dnsPacket.TRUNCATED_RESPONSE;
const FLAG_RD = dnsPacket.RECURSION_DESIRED;
const FLAG_RA = dnsPacket.RECURSION_AVAILABLE;

/** A decoded query, or undefined for anything that is not one (garbage, a response, a short packet). */
export function decodeQuery(message: Buffer): DecodedPacket | undefined {
  if (message.length < 12 || (message[2] ?? 0) & 0x80) return undefined; // too short for a header, or QR set: a response
  try {
    return dnsPacket.decode(message);
  } catch {
    return undefined;
  }
}

export const opcodeOf = (query: DecodedPacket): number => ((query.flags ?? 0) >> 11) & 0xf;
export const isStandardQuery = (query: DecodedPacket): boolean => opcodeOf(query) === OPCODE_QUERY;

const optOf = (p: Packet): OptAnswer | undefined => p.additionals?.find((a): a is OptAnswer => a.type === 'OPT');

/** How large a UDP response the client takes: 512, or its EDNS size within [512, 1232]. */
export function udpSizeLimit(query: DecodedPacket): number {
  const opt = optOf(query);
  return opt ? Math.min(Math.max(opt.udpPayloadSize, CLASSIC_UDP_SIZE), EDNS_UDP_SIZE) : CLASSIC_UDP_SIZE;
}

export interface ResponseOptions {
  rcode: Rcode;
  answers?: Answer[];
  /** Set for names the responder owns (the container records). */
  authoritative?: boolean;
}

/** The response to a query: same id, opcode, question and RD; RA set (the responder recurses by forwarding); EDNS if the query had it. */
export function responseTo(query: DecodedPacket, opts: ResponseOptions): Packet {
  const flags = (opcodeOf(query) << 11) | (query.flag_rd ? FLAG_RD : 0) | FLAG_RA | (opts.authoritative ? FLAG_AA : 0) | opts.rcode;
  const opt: OptAnswer = { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  return {
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers: opts.answers ?? [],
    authorities: [],
    additionals: optOf(query) ? [opt] : [],
  };
}

/**
 * Encodes a response in at most maxBytes: when the whole does not fit, answers are dropped from
 * the end until it does and TC is set, so the client asks again over TCP (RFC 1035 4.2.1, RFC 7766).
 */
export function encodeResponse(response: Packet, maxBytes: number): Buffer {
  if (dnsPacket.encodingLength(response) <= maxBytes) return dnsPacket.encode(response);
  const answers = [...(response.answers ?? [])];
  const truncated: Packet = { ...response, flags: (response.flags ?? 0) | FLAG_TC, answers, authorities: [] };
  while (answers.length > 0 && dnsPacket.encodingLength(truncated) > maxBytes) answers.pop();
  return dnsPacket.encode(truncated);
}

/** A response with no data, e.g. SERVFAIL when no upstream answered. */
export const errorResponse = (query: DecodedPacket, rcode: Rcode, maxBytes: number): Buffer => encodeResponse(responseTo(query, { rcode }), maxBytes);

/** An empty response with TC set: "ask again over TCP" (an upstream answer too large for this client's UDP). */
export function truncatedResponse(query: DecodedPacket): Buffer {
  const response = responseTo(query, { rcode: RCODE.NOERROR });
  return dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | FLAG_TC });
}

export const messageId = (message: Buffer): number => message.readUInt16BE(0);

/** A copy of the message with another id (forwarding swaps the client's id for a random one and back). */
export function withId(message: Buffer, id: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt16BE(id, 0);
  return copy;
}
