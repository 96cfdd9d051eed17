// Port mappings: validation of what callers pass (CNI entries, ranges), the per-family view of a
// mapping, and the overlap rule of host port reservations. Pure.
import { formatAddr, parseAddr, type Family } from '../ip/address.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import { PROTOCOLS, type FamilyMapping, type PortMapping, type PortMappingInput, type Protocol } from './types.js';

const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;

/** The number of ports in the mapping's host (and container) range. */
export const rangeLength = (m: Pick<PortMapping, 'hostPort' | 'hostPortEnd'>): number => m.hostPortEnd - m.hostPort + 1;
export const containerPortEnd = (m: PortMapping): number => m.containerPort + rangeLength(m) - 1;

/** "8080" or "8080-8090". */
export const formatRange = (start: number, end: number): string => (start === end ? `${start}` : `${start}-${end}`);

/**
 * Validates one mapping; `where` names it in errors (e.g. "runtimeConfig.portMappings[2]").
 * Throws CniError code 7 saying what is wrong.
 */
export function normalizeMapping(input: PortMappingInput, where = 'port mapping'): PortMapping {
  const bad = (why: string) => new CniError(ErrorCode.InvalidNetworkConfig, `${where} ${why}`);
  if (!input || typeof input !== 'object') throw bad('is not an object');
  const { hostPort, containerPort, hostPortEnd, containerPortEnd: cEnd, protocol, hostIP } = input;
  if (!isPort(hostPort)) throw bad(`has an invalid hostPort ${JSON.stringify(hostPort)} (1-65535)`);
  if (!isPort(containerPort)) throw bad(`has an invalid containerPort ${JSON.stringify(containerPort)} (1-65535)`);
  const end = hostPortEnd === undefined || hostPortEnd === 0 ? hostPort : hostPortEnd;
  if (!isPort(end)) throw bad(`has an invalid hostPortEnd ${JSON.stringify(hostPortEnd)} (1-65535)`);
  if (end < hostPort) throw bad(`has a reversed host port range ${hostPort}-${end}`);
  const length = end - hostPort + 1;
  if (containerPort + length - 1 > 65535) throw bad(`maps ${length} host ports onto container ports ${containerPort}-${containerPort + length - 1}, past 65535`);
  if (cEnd !== undefined && cEnd !== 0 && cEnd !== containerPort + length - 1) {
    throw bad(`maps host ports ${formatRange(hostPort, end)} onto container ports ${formatRange(containerPort, cEnd)}: the ranges must have the same length`);
  }
  const proto = protocol === undefined || protocol === '' ? 'tcp' : typeof protocol === 'string' ? protocol.toLowerCase() : '';
  if (!PROTOCOLS.includes(proto as Protocol)) throw bad(`has an unsupported protocol ${JSON.stringify(protocol)} (tcp, udp or sctp)`);
  let ip = '';
  if (hostIP !== undefined && hostIP !== '') {
    const addr = typeof hostIP === 'string' ? parseAddr(hostIP) : undefined;
    if (!addr) throw bad(`has an invalid hostIP ${JSON.stringify(hostIP)}`);
    ip = formatAddr(addr);
  }
  return { protocol: proto as Protocol, hostIP: ip, hostPort, hostPortEnd: end, containerPort };
}

export const wildcardOf = (family: Family): string => (family === 4 ? '0.0.0.0' : '::');
const familyOfAddress = (ip: string): Family => (ip.includes(':') ? 6 : 4);

/**
 * The mappings that apply to a container address of `family`: those without hostIP, and those whose
 * hostIP is of that family (an IPv4 hostIP never applies to an IPv6 container, and vice versa).
 */
export function mappingsFor(family: Family, mappings: readonly PortMapping[]): FamilyMapping[] {
  const out: FamilyMapping[] = [];
  for (const m of mappings) {
    if (m.hostIP !== '' && familyOfAddress(m.hostIP) !== family) continue;
    const bindIP = m.hostIP === '' ? wildcardOf(family) : m.hostIP;
    out.push({ ...m, family, bindIP, wildcard: bindIP === wildcardOf(family) });
  }
  return out;
}

/** Does the mapping publish on 127.0.0.0/8 (so route_localnet and the localhost masquerade matter)? */
export const reachesLocalhost = (m: FamilyMapping): boolean => m.family === 4 && (m.wildcard || m.bindIP.startsWith('127.'));

/** A host port claim: what a reservation holds. */
export interface PortClaim {
  protocol: Protocol;
  family: Family;
  /** A specific address, or 0.0.0.0 / :: for every address of the family. */
  bindIP: string;
  hostPort: number;
  hostPortEnd: number;
}

export const claimOf = (m: FamilyMapping): PortClaim => ({ protocol: m.protocol, family: m.family, bindIP: m.bindIP, hostPort: m.hostPort, hostPortEnd: m.hostPortEnd });

/**
 * Whether two host addresses share a port space: equal, or either one is the wildcard of the
 * other's family (0.0.0.0 covers every IPv4 address, :: every IPv6 one), or '' (every address).
 */
export function hostIpsOverlap(a: string, b: string): boolean {
  if (a === '' || b === '') return true;
  const family = familyOfAddress(a);
  if (familyOfAddress(b) !== family) return false;
  return a === b || a === wildcardOf(family) || b === wildcardOf(family);
}

/** Two claims collide when protocol and family match, the port ranges intersect, and the addresses overlap. */
export function claimsOverlap(a: PortClaim, b: PortClaim): boolean {
  if (a.protocol !== b.protocol || a.family !== b.family) return false;
  if (a.hostPortEnd < b.hostPort || b.hostPortEnd < a.hostPort) return false;
  return hostIpsOverlap(a.bindIP, b.bindIP);
}

/** The first port both claims hold (they must overlap). */
export const firstSharedPort = (a: PortClaim, b: PortClaim): number => Math.max(a.hostPort, b.hostPort);

/** The spec's wording: "port 8080/tcp is already allocated on 0.0.0.0". */
export function conflictMessage(wanted: PortClaim, held: PortClaim): string {
  return `port ${firstSharedPort(wanted, held)}/${wanted.protocol} is already allocated on ${held.bindIP}`;
}
