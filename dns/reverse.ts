// Reverse-lookup names (RFC 1035 in-addr.arpa, RFC 3596 ip6.arpa) to and from addresses, for PTR.
import { formatAddr, parseAddr } from '../ip/address.js';
import { normalizeName } from './records.js';

const V4_SUFFIX = '.in-addr.arpa';
const V6_SUFFIX = '.ip6.arpa';

/** The PTR owner name of an address: 2.0.89.10.in-addr.arpa, or 32 reversed nibbles + ip6.arpa. */
export function reverseName(address: string): string {
  const addr = parseAddr(address);
  if (!addr) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  if (addr.family === 4) return `${formatAddr(addr).split('.').reverse().join('.')}${V4_SUFFIX}`;
  return `${[...addr.value.toString(16).padStart(32, '0')].reverse().join('.')}${V6_SUFFIX}`;
}

/** True when a (normalized) name lies in a reverse zone, whether or not it names a whole address. */
export const isReverseName = (name: string): boolean => name.endsWith(V4_SUFFIX) || name.endsWith(V6_SUFFIX);

/**
 * The canonical address a reverse name stands for, or undefined when it names a zone rather than
 * one address (e.g. 89.10.in-addr.arpa) or is not well formed.
 */
export function addressOfReverseName(name: string): string | undefined {
  const n = normalizeName(name);
  if (n.endsWith(V4_SUFFIX)) {
    const labels = n.slice(0, -V4_SUFFIX.length).split('.');
    if (labels.length !== 4) return undefined;
    const addr = parseAddr(labels.reverse().join('.'));
    return addr ? formatAddr(addr) : undefined;
  }
  if (n.endsWith(V6_SUFFIX)) {
    const labels = n.slice(0, -V6_SUFFIX.length).split('.');
    if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    return formatAddr({ family: 6, value: BigInt(`0x${labels.reverse().join('')}`) });
  }
  return undefined;
}
