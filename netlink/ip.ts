// Address text <-> the bytes netlink carries: IPv4/IPv6 addresses, CIDR prefixes and MAC addresses.
import { formatAddr, fromBytes, parseAddr, toBytes, type Family } from '../ip/address.js';

export type { Family };

export interface Ip {
  family: Family;
  bytes: Buffer;
}

export interface Cidr extends Ip {
  prefix: number;
}

// Text forms come from the shared ip/ module (one parser for the whole suite); netlink wants bytes.
export function parseIp(text: string): Ip {
  const addr = parseAddr(text);
  if (!addr) throw new TypeError(`invalid IP address ${JSON.stringify(text)}`);
  return { family: addr.family, bytes: toBytes(addr) };
}

/** Text form; IPv6 compressed as RFC 5952 says (longest run of two or more zero groups becomes ::). */
export function formatIp(bytes: Buffer): string {
  return formatAddr(fromBytes(bytes));
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
