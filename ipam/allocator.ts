// Address selection, pure: given the range sets, who holds what and the round-robin cursor, decide
// which address an attachment gets. The store (store.ts) supplies the view and records the outcome.
import { CniError, ErrorCode } from '../cni/errors.js';
import { type IpAddr, formatAddr } from '../ip/address.js';
import { type Owner, formatOwner } from './owner.js';
import { type Range, type RangeSet, formatRangeSet, inRange, isAssignable, rangeFor, unassignableReason } from './range.js';

/** Held addresses by canonical text (the store's file names). */
export type TakenAddresses = ReadonlyMap<string, Owner>;

export interface AllocationRequest {
  network: string;
  set: RangeSet;
  taken: TakenAddresses;
  /** The set's last reserved address: the search starts just after it. */
  lastReserved?: IpAddr | undefined;
  /** A specific address asked for by the runtime; must lie in the set. */
  requested?: IpAddr | undefined;
}

export interface Allocation {
  address: IpAddr;
  range: Range;
}

const plural = (set: RangeSet): string => (set.length === 1 ? 'range' : 'ranges');

/**
 * Every address of the set once, in round-robin order: from just after `last` (when it lies in the
 * set) through the end of its range, the following ranges, wrapping around to the first, and back to
 * `last`. Starting after the last reservation rather than at the lowest free address keeps a
 * just-released address (and its stale ARP/conntrack entries) out of use for as long as possible.
 */
export function* roundRobin(set: RangeSet, last?: IpAddr): Generator<{ range: Range; value: bigint }> {
  let index = last ? set.findIndex((r) => inRange(r, last)) : -1;
  let first: bigint;
  if (index < 0 || !last) {
    index = 0;
    first = set[0]?.start ?? 0n;
  } else {
    first = last.value + 1n;
  }
  const n = set.length;
  for (let k = 0; k <= n; k++) {
    const range = set[(index + k) % n];
    if (!range) return;
    // The starting range is visited twice: from `first` to its end, and at the very end from its start up to `first`.
    const from = k === 0 ? first : range.start;
    const to = k === n ? first - 1n : range.end;
    for (let value = from; value <= to; value++) yield { range, value };
  }
}

/** The first assignable, untaken address in round-robin order, or undefined when the set is full. */
export function findFree(set: RangeSet, taken: TakenAddresses, last?: IpAddr): Allocation | undefined {
  for (const { range, value } of roundRobin(set, last)) {
    if (!isAssignable(range, value)) continue;
    const address: IpAddr = { family: range.family, value };
    if (!taken.has(formatAddr(address))) return { address, range };
  }
  return undefined;
}

/** Chooses the address for one range set, or throws the CNI error that explains why there is none. */
export function allocate(req: AllocationRequest): Allocation {
  const { network, set, taken, requested } = req;
  if (!requested) {
    const found = findFree(set, taken, req.lastReserved);
    if (found) return found;
    throw new CniError(
      ErrorCode.AddressExhausted,
      `no free address in ${plural(set)} ${formatRangeSet(set)} of network "${network}"`,
    );
  }
  const text = formatAddr(requested);
  const range = rangeFor(set, requested);
  if (!range) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `requested address ${text} is outside the ${plural(set)} ${formatRangeSet(set)} of network "${network}"`,
    );
  }
  const reason = unassignableReason(range, requested.value);
  if (reason) throw new CniError(ErrorCode.InvalidNetworkConfig, `requested address ${text} cannot be assigned: ${reason}`);
  const holder = taken.get(text);
  if (holder) {
    throw new CniError(
      ErrorCode.AddressConflict,
      `requested address ${text} is already taken by ${formatOwner(holder)} in network "${network}"`,
    );
  }
  return { address: requested, range };
}

/**
 * Matches requested addresses to range sets: at most one per set, and each must fall in some set.
 * Returns, per set, the address requested for it (or undefined: any free address).
 */
export function assignRequested(network: string, sets: readonly RangeSet[], requested: readonly IpAddr[]): (IpAddr | undefined)[] {
  const perSet: (IpAddr | undefined)[] = sets.map(() => undefined);
  for (const addr of requested) {
    const index = sets.findIndex((set) => rangeFor(set, addr) !== undefined);
    if (index < 0) {
      const all = sets.map(formatRangeSet).join('; ');
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `requested address ${formatAddr(addr)} is outside every range of network "${network}" (${all})`,
      );
    }
    const earlier = perSet[index];
    if (earlier) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `requested addresses ${formatAddr(earlier)} and ${formatAddr(addr)} both fall in range set ${index} of network "${network}": an attachment gets one address per range set`,
      );
    }
    perSet[index] = addr;
  }
  return perSet;
}
