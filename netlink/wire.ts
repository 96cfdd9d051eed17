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
/** IFLA_AF_SPEC (linux/if_link.h): a link's per-family settings, nested by address family. */
export const IFLA_AF_SPEC = 26;

/** A netlink message's or attribute's length rounded up to the 4-byte boundary the next one starts at. */
const padded = (len: number): number => (len + 3) & ~3;

/** The nlmsghdr of a request (NLM_F_REQUEST plus `flags`) whose payload is sent right after it. */
export function nlmsghdr(type: number, flags: number, seq: number, payload: readonly Buffer[]): Buffer {
  const h = Buffer.allocUnsafe(NLMSG_HDRLEN);
  writeU32(h, NLMSG_HDRLEN + payload.reduce((n, b) => n + b.length, 0), 0);
  writeU16(h, type, 4);
  writeU16(h, flags | NLM_F_REQUEST, 6);
  writeU32(h, seq, 8);
  writeU32(h, 0, 12); // nlmsg_pid: the kernel's
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
    off += padded(len);
  }
  return out;
}

export function u8(v: number): Buffer {
  return Buffer.from([v]);
}

// Integers are written byte by byte, and their buffers come from node's pool (allocUnsafe: every
// byte is written): an nf_tables rule is hundreds of them, and Buffer's writeUInt*() (four calls
// deep, each interpreted on a plugin's one run) and a fresh ArrayBuffer apiece made encoding the
// rules of an ADD cost more than committing them.

function checkRange(v: number, max: number): void {
  if (!(Number.isInteger(v) && v >= 0 && v <= max)) throw new RangeError(`${v} does not fit in ${max === 0xffff ? 16 : 32} bits`);
}

export function writeU16(b: Uint8Array, v: number, offset: number): void {
  checkRange(v, 0xffff);
  b[offset + (LE ? 0 : 1)] = v & 0xff;
  b[offset + (LE ? 1 : 0)] = v >>> 8;
}

function writeU32(b: Uint8Array, v: number, offset: number): void {
  checkRange(v, 0xffffffff);
  for (let i = 0; i < 4; i++) b[offset + (LE ? i : 3 - i)] = (v >>> (8 * i)) & 0xff;
}

export function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  writeU32(b, v, 0);
  return b;
}

/** Big-endian integers, as nf_tables attributes and packet headers hold them (a negative 32-bit one, e.g. a verdict code, in two's complement). */
export function be16(v: number): Buffer {
  checkRange(v, 0xffff);
  const b = Buffer.allocUnsafe(2);
  b[0] = v >>> 8;
  b[1] = v & 0xff;
  return b;
}

export function be32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  writeBe32(b, v, 0);
  return b;
}

function writeBe32(b: Uint8Array, v: number, offset: number): void {
  const u = v >>> 0;
  for (let i = 0; i < 4; i++) b[offset + i] = (u >>> (24 - 8 * i)) & 0xff;
}

/** A u64 in two big-endian halves (Buffer's BigInt methods cost a plugin ~0.3 ms to compile on first use). */
export function be64(v: bigint): Buffer {
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`${v} does not fit in 64 bits`);
  const b = Buffer.allocUnsafe(8);
  writeBe32(b, Number(v >> 32n), 0);
  writeBe32(b, Number(v & 0xffffffffn), 4);
  return b;
}

export function readBe64(b: Uint8Array, offset = 0): bigint {
  const half = (at: number) => BigInt(((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0);
  return (half(offset) << 32n) | half(offset + 4);
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

/**
 * With nestedFlag false, nested attributes carry no NLA_F_NESTED: the form nf_tables dumps rules in.
 * Written into one buffer sized first: a rule's expressions are hundreds of attributes, and a Buffer
 * apiece (header, value, padding, then concatenations) made its encoding cost more than its commit.
 */
export function encodeAttrs(attrs: AttrList, nestedFlag = true): Buffer {
  const out = Buffer.allocUnsafe(attrsLength(attrs));
  writeAttrs(out, 0, attrs, nestedFlag);
  return out;
}

// Index loops, not for-of or destructuring: this runs once per plugin process, in V8's
// interpreter, where each of those goes through the iterator protocol.
function attrsLength(attrs: AttrList): number {
  let len = 0;
  for (let i = 0; i < attrs.length; i++) {
    const attr = attrs[i];
    if (attr) len += padded(4 + (Buffer.isBuffer(attr[1]) ? attr[1].length : attrsLength(attr[1])));
  }
  return len;
}

/** Writes every byte of the attributes (headers, values, zeroed padding) at `off`; returns the end. */
function writeAttrs(out: Buffer, off: number, attrs: AttrList, nestedFlag: boolean): number {
  for (let i = 0; i < attrs.length; i++) {
    const attr = attrs[i];
    if (!attr) continue;
    const value = attr[1];
    const start = off;
    const nested = !Buffer.isBuffer(value);
    if (nested) off = writeAttrs(out, off + 4, value, nestedFlag);
    else {
      out.set(value, off + 4);
      off += 4 + value.length;
    }
    writeU16(out, off - start, start);
    writeU16(out, attr[0] | (nested && nestedFlag ? NLA_F_NESTED : 0), start + 2);
    for (const end = start + padded(off - start); off < end; off++) out[off] = 0;
  }
  return off;
}

/** Every attribute in order, repeats included (e.g. the elements of a nested list). */
export function eachAttr(b: Buffer): Array<[type: number, value: Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let off = 0; off + 4 <= b.length; ) {
    const len = readU16(b, off);
    if (len < 4 || off + len > b.length) break;
    out.push([readU16(b, off + 2) & NLA_TYPE_MASK, b.subarray(off + 4, off + len)]);
    off += padded(len);
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
