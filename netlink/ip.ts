// Address text <-> the bytes netlink carries: IPv4/IPv6 addresses, CIDR prefixes and MAC addresses.
// Self-contained on purpose: this layer is loaded by every plugin, so it avoids a library import.
export type Family = 4 | 6;

export interface Ip {
  family: Family;
  bytes: Buffer;
}

export interface Cidr extends Ip {
  prefix: number;
}

// Validated here rather than with node:net's isIP(), whose module costs ~4 ms to load.
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

function parseIpv4(text: string): Buffer | undefined {
  return IPV4.test(text) ? Buffer.from(text.split('.').map(Number)) : undefined;
}

function parseIpv6(text: string): Buffer | undefined {
  let valid = true;
  // A trailing dotted quad (::ffff:1.2.3.4) is the last two groups.
  const hexText = text.replace(/:(\d+(?:\.\d+)+)$/, (_, quad: string) => {
    const b = parseIpv4(quad);
    valid = b !== undefined;
    return b ? `:${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}` : '';
  });
  const halves = hexText.split('::');
  if (!valid || halves.length > 2) return undefined;
  const groupsOf = (s: string | undefined) => (s ? s.split(':') : []);
  const left = groupsOf(halves[0]);
  const right = groupsOf(halves[1]);
  if (![...left, ...right].every((g) => HEX_GROUP.test(g))) return undefined;
  // "::" stands for at least one zero group; without it there must be exactly eight.
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...new Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function parseIp(text: string): Ip {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  if (v6) return { family: 6, bytes: v6 };
  throw new TypeError(`invalid IP address ${JSON.stringify(text)}`);
}

/** Text form; IPv6 compressed as RFC 5952 says (longest run of two or more zero groups becomes ::). */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) throw new TypeError(`not an IP address: ${bytes.length} bytes`);
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best.at === -1) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`;
}

export function familyOf(bytes: Buffer): Family {
  return bytes.length === 4 ? 4 : 6;
}

/** "10.1.0.1/24" or "fd00::1/64"; a bare address means a host prefix (/32 or /128). */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  const max = ip.family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) throw new TypeError(`invalid prefix length in ${JSON.stringify(text)}`);
  return { ...ip, prefix };
}

export function formatCidr(bytes: Buffer, prefix: number): string {
  return `${formatIp(bytes)}/${prefix}`;
}

/** The prefix's network address (host bits cleared). */
export function networkOf(c: Cidr): Buffer {
  return Buffer.from(c.bytes.map((byte, i) => byte & maskByte(c.prefix, i)));
}

/** The IPv4 broadcast address of a prefix (host bits set). */
export function broadcastOf(c: Cidr): Buffer {
  return Buffer.from(c.bytes.map((byte, i) => byte | (~maskByte(c.prefix, i) & 0xff)));
}

function maskByte(prefix: number, i: number): number {
  const bits = Math.min(8, Math.max(0, prefix - i * 8));
  return (0xff << (8 - bits)) & 0xff;
}

export function parseMac(text: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) throw new TypeError(`invalid MAC address ${JSON.stringify(text)}`);
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

export function formatMac(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
