// Automatic subnets for networks created without --subnet, as Docker chooses them: walk the
// address pools in order (by default 172.17.0.0/16 for the default bridge, then 172.18.0.0/16 ...
// 172.31.0.0/16, then 192.168.0.0/16 in /20 steps) and take the first subnet that overlaps neither
// another network nor a route of the host. Pure: the caller passes what is in use.
import { type Cidr, type Family, familyBits, familyName, formatCidr, lastOf, networkOf, parseAddr, parseCidr } from '../ip/address.js';

/** One entry of daemon.json's `default-address-pools`: subnets of prefix `size` carved from `base`. */
export interface AddressPool {
  base: string;
  size: number;
}

export const DEFAULT_ADDRESS_POOLS: readonly AddressPool[] = [
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];

export interface SubnetRequest {
  /** Default: DEFAULT_ADDRESS_POOLS. Pools of the other family are skipped. */
  pools?: readonly AddressPool[];
  family?: Family;
  /** Subnets of the existing networks. */
  inUse: readonly string[];
  /** Destinations of the host's routes (CIDR, or a bare address); default routes are ignored. */
  hostRoutes?: readonly string[];
}

interface Pool {
  base: Cidr;
  size: number;
}

/** Validates a pool list (daemon.json's default-address-pools); throws naming the bad entry. */
export function parsePools(pools: readonly AddressPool[]): Pool[] {
  return pools.map((p, i) => {
    const what = `default-address-pools[${i}]`;
    const base = typeof p?.base === 'string' ? parseCidr(p.base) : undefined;
    if (!base) throw new Error(`${what}: base ${JSON.stringify(p?.base)} is not a subnet in CIDR notation`);
    if (networkOf(base) !== base.addr.value) throw new Error(`${what}: base ${p.base} has host bits set (did you mean ${formatCidr({ addr: { ...base.addr, value: networkOf(base) }, prefix: base.prefix })}?)`);
    const bits = familyBits(base.addr.family);
    if (!Number.isInteger(p.size) || p.size < base.prefix || p.size > bits) {
      throw new Error(`${what}: size ${JSON.stringify(p.size)} must be a prefix length between ${base.prefix} (the base's) and ${bits}`);
    }
    return { base, size: p.size };
  });
}

/** A route destination or subnet; a bare address is a host route. */
function parseBlock(text: string, what: string): Cidr {
  const cidr = parseCidr(text) ?? (() => {
    const addr = parseAddr(text);
    return addr ? { addr, prefix: familyBits(addr.family) } : undefined;
  })();
  if (!cidr) throw new Error(`${what} ${JSON.stringify(text)} is not a subnet or address`);
  return cidr;
}

/** Whether two subnets share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.addr.family === b.addr.family && networkOf(a) <= lastOf(b) && networkOf(b) <= lastOf(a);
}

/** The first of `others` that overlaps `subnet`, or undefined (for a user-given --subnet). */
export function findOverlap(subnet: string, others: readonly string[]): string | undefined {
  const s = parseBlock(subnet, 'subnet');
  return others.find((o) => cidrsOverlap(s, parseBlock(o, 'subnet')));
}

/**
 * The first subnet of the pools that overlaps no subnet in use and no host route. Throws when
 * every pool is exhausted.
 */
export function chooseSubnet(req: SubnetRequest): string {
  const family = req.family ?? 4;
  const pools = parsePools(req.pools ?? DEFAULT_ADDRESS_POOLS).filter((p) => p.base.addr.family === family);
  const blocks = [
    ...req.inUse.map((s) => parseBlock(s, 'subnet in use')),
    // A default route covers everything, yet says nothing about which subnets are taken.
    ...(req.hostRoutes ?? []).filter((r) => r !== 'default').map((r) => parseBlock(r, 'host route')).filter((r) => r.prefix > 0),
  ].filter((b) => b.addr.family === family);

  for (const pool of pools) {
    const step = 1n << BigInt(familyBits(family) - pool.size);
    const last = lastOf(pool.base);
    let value = networkOf(pool.base);
    while (value <= last) {
      const candidate: Cidr = { addr: { family, value }, prefix: pool.size };
      const blocker = blocks.find((b) => cidrsOverlap(b, candidate));
      if (!blocker) return formatCidr(candidate);
      // Jump past whichever ends later; a larger blocker ends on a boundary of the step, so the next candidate stays aligned.
      const end = lastOf(candidate) > lastOf(blocker) ? lastOf(candidate) : lastOf(blocker);
      value = end + 1n;
      if (value % step !== 0n) value += step - (value % step);
    }
  }
  const tried = pools.map((p) => `${formatCidr(p.base)} in /${p.size} steps`).join(', ');
  if (!tried) throw new Error(`no ${familyName(family)} address pool is configured: give the network a --subnet, or add an ${familyName(family)} base to default-address-pools`);
  throw new Error(
    `no free ${familyName(family)} subnet left in the address pools (${tried}): each overlaps another network or a host route; remove unused networks, give a --subnet, or configure default-address-pools`,
  );
}
