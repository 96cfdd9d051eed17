// IP addresses as (family, bigint) pairs, shared by ipam/ (allocation is arithmetic on integers)
// and netlink/ (which wants bytes: toBytes/fromBytes). The canonical text form doubles as the IPAM
// store's file name, so it must match what the reference host-local (Go's net.IP.String(), RFC 5952
// for IPv6) writes for the same address. Parsing and printing are done here rather than with a
// library: every plugin start pays for what it loads (about 5 ms for ip-address, 4 ms for node:net),
// and these few rules are all ctnet needs (the tests check them against ip-address).

export type Family = 4 | 6;

export interface IpAddr {
  family: Family;
  value: bigint;
}

export interface Cidr {
  addr: IpAddr;
  prefix: number;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

/** The top 96 bits of ::ffff:0:0/96. Go prints these as dotted IPv4, so a file name would not round-trip: refuse them. */
const V4_MAPPED_PREFIX = 0xffffn;

/**
 * Dotted-quad text without leading zeros, so what parses is canonical (formatAddr gives it back).
 * By hand, not by a pattern: the IPAM store parses every reservation's name on each ADD, in a
 * process too short-lived for a regular expression's compilation to pay off.
 */
function parseV4(text: string): IpAddr | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48; // '0'
    if (c === -2) {
      // '.'
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0 && c <= 9) {
      if (digits > 0 && octet === 0) return undefined; // a leading zero
      octet = octet * 10 + c;
      if (++digits > 3 || octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return { family: 4, value: BigInt(value * 256 + octet) };
}

const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Groups of 16 bits from colon-separated text; an IPv4 tail (allowed at the very end only) counts as two. */
function v6Groups(text: string, atEnd: boolean): bigint[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: bigint[] = [];
  for (const [i, part] of parts.entries()) {
    if (atEnd && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseV4(part);
      if (!v4) return undefined;
      groups.push(v4.value >> 16n, v4.value & 0xffffn);
    } else if (V6_GROUP.test(part)) {
      groups.push(BigInt(`0x${part}`));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseV6(text: string): IpAddr | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = v6Groups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? v6Groups(halves[1] ?? '', true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  // Without "::" all 8 groups are written; "::" stands for at least one zero group.
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  const value = groups.reduce((acc, g) => (acc << 16n) | g, 0n);
  if (value >> 32n === V4_MAPPED_PREFIX) return undefined;
  return { family: 6, value };
}

/** RFC 5952: lower-case hex without leading zeros; the longest run of two or more zero groups (the first on a tie) becomes "::". */
function formatV6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`;
}

/** Parses a plain IPv4 or IPv6 address (no prefix, no zone); undefined if it is not one. */
export function parseAddr(text: string): IpAddr | undefined {
  // Zones (%eth0) and prefixes are not part of an address: the group syntax refuses them.
  return text.includes(':') ? parseV6(text) : parseV4(text);
}

/** Parses `addr/prefix`; the address keeps any host bits (callers decide whether that is an error). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddr(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= familyBits(addr.family) ? { addr, prefix } : undefined;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as ::). */
export function formatAddr(addr: IpAddr): string {
  if (addr.family === 4) {
    const v = addr.value;
    return [24n, 16n, 8n, 0n].map((shift) => String((v >> shift) & 0xffn)).join('.');
  }
  return formatV6(addr.value);
}

export const formatCidr = (c: Cidr): string => `${formatAddr(c.addr)}/${c.prefix}`;

const hostMask = (family: Family, prefix: number): bigint => (1n << BigInt(familyBits(family) - prefix)) - 1n;

/** The netmask of a prefix length: its first `prefix` bits set, the host bits clear. */
export const prefixMask = (family: Family, prefix: number): bigint => hostMask(family, 0) ^ hostMask(family, prefix);

/** The first address of the subnet (host bits cleared). */
export const networkOf = (c: Cidr): bigint => c.addr.value & prefixMask(c.addr.family, c.prefix);

/** The last address of the subnet (host bits set): the IPv4 broadcast. */
export const lastOf = (c: Cidr): bigint => networkOf(c) | hostMask(c.addr.family, c.prefix);

export const familyName = (family: Family): string => (family === 4 ? 'IPv4' : 'IPv6');

/** Network byte order: 4 bytes for IPv4, 16 for IPv6. */
export function toBytes(addr: IpAddr): Buffer {
  const n = addr.family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Number((addr.value >> BigInt(8 * (n - 1 - i))) & 0xffn);
  return out;
}

export function fromBytes(bytes: Buffer): IpAddr {
  if (bytes.length !== 4 && bytes.length !== 16) throw new TypeError(`not an IP address: ${bytes.length} bytes`);
  return { family: bytes.length === 4 ? 4 : 6, value: [...bytes].reduce((acc, b) => (acc << 8n) | BigInt(b), 0n) };
}
