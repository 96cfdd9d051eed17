// The host's route destinations, which automatic subnets must avoid (a network on 10.0.0.0/8 when the
// host reaches its LAN there would cut the host off it). Read from /proc/net/route and
// /proc/net/ipv6_route, which describe the reading thread's network namespace: no netlink needed.
import { readFileSync } from 'node:fs';
import { formatCidr } from '../ip/address.js';

/** Destinations of /proc/net/route's lines ("Iface Destination Gateway Flags ... Mask ..."; little-endian hex). */
export function parseRouteTable(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const dst = Buffer.from(cols[1]!, 'hex').readUInt32LE(0);
    const mask = Buffer.from(cols[7]!, 'hex').readUInt32LE(0);
    const prefix = mask.toString(2).replace(/0/g, '').length;
    if (prefix === 0) continue; // a default route says nothing about which subnets are taken
    out.push(formatCidr({ addr: { family: 4, value: BigInt(dst) }, prefix }));
  }
  return out;
}

/** Destinations of /proc/net/ipv6_route's lines ("dst dstlen src srclen gw metric ... iface"). */
export function parseIpv6RouteTable(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || !/^[0-9a-f]{32}$/.test(cols[0]!)) continue;
    const prefix = parseInt(cols[1]!, 16);
    // Default, link-local and multicast routes exist on every host: no subnet conflict to avoid.
    if (prefix === 0 || cols[0]!.startsWith('fe80') || cols[0]!.startsWith('ff')) continue;
    out.push(formatCidr({ addr: { family: 6, value: BigInt(`0x${cols[0]}`) }, prefix }));
  }
  return out;
}

const readOptional = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** The route destinations of this process's network namespace. */
export function hostRoutes(): string[] {
  return [...parseRouteTable(readOptional('/proc/net/route')), ...parseIpv6RouteTable(readOptional('/proc/net/ipv6_route'))];
}
