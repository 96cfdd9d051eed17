// Validated address ranges. A range set is the list of ranges one attachment gets exactly one address
// from (e.g. two IPv4 subnets of the same network); a network has one range set per address it hands
// out (dual stack: one IPv4 set and one IPv6 set).
import { type Cidr, type Family, type IpAddr, formatAddr, formatCidr, lastOf, networkOf } from '../ip/address.js';

export interface Range {
  family: Family;
  /** The subnet, host bits clear: its prefix is the one results carry. */
  subnet: Cidr;
  /** First and last allocatable address, inclusive. */
  start: bigint;
  end: bigint;
  /** Never handed out, even when inside [start, end]. */
  gateway: bigint;
}

/** Non-empty, single family, no overlaps (config.ts guarantees all three). */
export type RangeSet = readonly Range[];

/** The text of an address of the range's family. */
export const addressText = (r: Range, value: bigint): string => formatAddr({ family: r.family, value });

export const formatRange = (r: Range): string => `${addressText(r, r.start)}-${addressText(r, r.end)}`;
export const formatRangeSet = (set: RangeSet): string => set.map(formatRange).join(', ');
export const formatSubnet = (r: Range): string => formatCidr(r.subnet);
export const gatewayText = (r: Range): string => addressText(r, r.gateway);

export const inRange = (r: Range, addr: IpAddr): boolean =>
  addr.family === r.family && addr.value >= r.start && addr.value <= r.end;

/** The range of the set that contains addr, if any. */
export const rangeFor = (set: RangeSet, addr: IpAddr): Range | undefined => set.find((r) => inRange(r, addr));

/**
 * Why an address of the range may not be given to a container; undefined if it may. The gateway is
 * never handed out, nor for IPv4 the subnet's network or broadcast address (a user-set rangeStart or
 * rangeEnd may include them).
 */
export function unassignableReason(r: Range, value: bigint): string | undefined {
  if (value === r.gateway) return `it is the gateway of ${formatSubnet(r)}`;
  if (r.family === 4 && value === networkOf(r.subnet)) return `it is the network address of ${formatSubnet(r)}`;
  if (r.family === 4 && value === lastOf(r.subnet)) return `it is the broadcast address of ${formatSubnet(r)}`;
  return undefined;
}

export const isAssignable = (r: Range, value: bigint): boolean =>
  value >= r.start && value <= r.end && unassignableReason(r, value) === undefined;
