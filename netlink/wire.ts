// rtnetlink message layouts: the fixed headers (ifinfomsg, ifaddrmsg, rtmsg) and attributes (TLVs)
// that links.ts, addresses.ts and routes.ts need. npm netlink's generated rtnetlink codecs cost
// ~16 ms of require time per process and cannot set NLA_F_NESTED, so only its socket layer is used
// and the few structures ctnet sends are encoded here. Netlink integers are in host byte order.

// Without node:os (os.endianness()), which no plugin run needs otherwise: ~0.4 ms to load it.
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Message types (linux/rtnetlink.h).
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
} as const;

// nlmsghdr flags (linux/netlink.h); npm netlink's request() adds REQUEST and ACK itself.
export const NLM_F = { ACK: 4, ECHO: 8, DUMP: 0x300, REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800 } as const;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const NLM_F_REQUEST = 1;
const NLMSG_HDRLEN = 16;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

/** The nlmsghdr of a request (NLM_F_REQUEST plus `flags`) whose payload is sent right after it. */
export function nlmsghdr(type: number, flags: number, seq: number, payload: readonly Buffer[]): Buffer {
  const h = Buffer.alloc(NLMSG_HDRLEN);
  const len = NLMSG_HDRLEN + payload.reduce((n, b) => n + b.length, 0);
  h.set(u32(len), 0);
  writeU16(h, type, 4);
  writeU16(h, flags | NLM_F_REQUEST, 6);
  h.set(u32(seq), 8);
  return h;
}

/** One message of raw netlink bytes; data is what follows its header. */
export interface WireMessage {
  type: number;
  flags: number;
  seq: number;
  data: Buffer;
}

/** Splits raw reply bytes into messages, stopping at a truncated one. */
export function parseMessages(bytes: Buffer): WireMessage[] {
  const out: WireMessage[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= bytes.length; ) {
    const len = readU32(bytes, off);
    if (len < NLMSG_HDRLEN || off + len > bytes.length) break;
    out.push({ type: readU16(bytes, off + 4), flags: readU16(bytes, off + 6), seq: readU32(bytes, off + 8), data: bytes.subarray(off + NLMSG_HDRLEN, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

export function u8(v: number): Buffer {
  return Buffer.from([v]);
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return b;
}

/** Big-endian integers, as nf_tables attributes and packet headers hold them (a negative 32-bit one, e.g. a verdict code, in two's complement). */
export function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

export function be64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

function readU32(b: Buffer, offset = 0): number {
  return LE ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}

export function readS32(b: Buffer, offset = 0): number {
  return LE ? b.readInt32LE(offset) : b.readInt32BE(offset);
}

function readU16(b: Buffer, offset: number): number {
  return LE ? b.readUInt16LE(offset) : b.readUInt16BE(offset);
}

export function writeU16(b: Buffer, v: number, offset: number): void {
  if (LE) b.writeUInt16LE(v, offset);
  else b.writeUInt16BE(v, offset);
}

/** NUL-terminated string attribute value. */
export function str(v: string): Buffer {
  return Buffer.from(`${v}\0`);
}

export function readStr(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end === -1 ? b.length : end);
}

/** One attribute: a raw value, or child attributes (sent with NLA_F_NESTED, as iproute2 does, unless told otherwise). */
export type Attr = [type: number, value: Buffer | AttrList];
/** Falsy entries are skipped, so optional attributes can be written inline (`mtu !== undefined && [...]`). */
export type AttrList = (Attr | false | undefined)[];

/** With nestedFlag false, nested attributes carry no NLA_F_NESTED: the form nf_tables dumps rules in. */
export function encodeAttrs(attrs: AttrList, nestedFlag = true): Buffer {
  const parts: Buffer[] = [];
  for (const attr of attrs) {
    if (!attr) continue;
    const [type, value] = attr;
    const nested = !Buffer.isBuffer(value);
    const data = nested ? encodeAttrs(value, nestedFlag) : value;
    const header = Buffer.alloc(4);
    writeU16(header, 4 + data.length, 0);
    writeU16(header, type | (nested && nestedFlag ? NLA_F_NESTED : 0), 2);
    parts.push(header, data, Buffer.alloc((4 - (data.length % 4)) % 4));
  }
  return Buffer.concat(parts);
}

/** Every attribute in order, repeats included (e.g. the elements of a nested list). */
export function eachAttr(b: Buffer): Array<[type: number, value: Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let off = 0; off + 4 <= b.length; ) {
    const len = readU16(b, off);
    if (len < 4 || off + len > b.length) break;
    out.push([readU16(b, off + 2) & NLA_TYPE_MASK, b.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}

/** Attributes by type (flags masked off); a repeated type keeps its last value. */
export function decodeAttrs(b: Buffer): Map<number, Buffer> {
  return new Map(eachAttr(b));
}

/** A u32 attribute's value, or undefined when absent. */
export function attrU32(attrs: Map<number, Buffer>, type: number): number | undefined {
  const v = attrs.get(type);
  return v ? readU32(v) : undefined;
}

/** struct ifinfomsg (16 bytes). */
export interface IfInfoMsg {
  family?: number;
  index?: number;
  flags?: number;
  change?: number;
}

export const IFINFOMSG_LEN = 16;

export function ifinfomsg(m: IfInfoMsg): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b[0] = m.family ?? AF_UNSPEC;
  b.set(u32(m.index ?? 0), 4);
  b.set(u32(m.flags ?? 0), 8);
  b.set(u32(m.change ?? 0), 12);
  return b;
}

export function parseIfinfomsg(b: Buffer): Required<IfInfoMsg> & { type: number } {
  return { family: b[0] ?? 0, type: readU16(b, 2), index: readS32(b, 4), flags: readU32(b, 8), change: readU32(b, 12) };
}

/** struct ifaddrmsg (8 bytes). */
export interface IfAddrMsg {
  family: number;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
}

export const IFADDRMSG_LEN = 8;

export function ifaddrmsg(m: IfAddrMsg): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b[0] = m.family;
  b[1] = m.prefixlen;
  b[2] = m.flags & 0xff;
  b[3] = m.scope;
  b.set(u32(m.index), 4);
  return b;
}

export function parseIfaddrmsg(b: Buffer): IfAddrMsg {
  return { family: b[0] ?? 0, prefixlen: b[1] ?? 0, flags: b[2] ?? 0, scope: b[3] ?? 0, index: readU32(b, 4) };
}

/** struct rtmsg (12 bytes). */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export const RTMSG_LEN = 12;

export function rtmsg(m: RtMsg): Buffer {
  const b = Buffer.from([m.family, m.dstLen, m.srcLen, m.tos, m.table, m.protocol, m.scope, m.type, 0, 0, 0, 0]);
  b.set(u32(m.flags), 8);
  return b;
}

export function parseRtmsg(b: Buffer): RtMsg {
  const [family = 0, dstLen = 0, srcLen = 0, tos = 0, table = 0, protocol = 0, scope = 0, type = 0] = b;
  return { family, dstLen, srcLen, tos, table, protocol, scope, type, flags: readU32(b, 8) };
}
