// Address pools for IpamDriver.RequestPool, pure: a --subnet given by the user (refused when it
// overlaps a pool in use), or one chosen as Docker chooses them (172.18.0.0/16 ... 172.31.0.0/16,
// then 192.168.0.0/16 in /20 steps; IPv6: a /64 of the plugin's own random ULA /48) avoiding pools
// in use and the host's routes. The pool walk is the engine's (engine/subnet-pools.ts), so
// `ctnet network create` and `docker network create` pick subnets the same way.
import { DEFAULT_ADDRESS_POOLS, chooseSubnet, findOverlap } from '../engine/subnet-pools.js';
import { type Cidr, type Family, familyBits, familyName, formatAddr, formatCidr, lastOf, networkOf, parseCidr } from '../ip/address.js';
import type { Range } from '../ipam/range.js';
import { PluginError } from './errors.js';
import type { RequestPoolRequest } from './protocol.js';
import type { PoolRecord } from './state.js';

export const LOCAL_ADDRESS_SPACE = 'ctnet-local';
export const GLOBAL_ADDRESS_SPACE = 'ctnet-global';

/** Docker's pools minus 172.17.0.0/16, which Docker keeps for its default bridge. */
export const AUTO_IPV4_POOLS = DEFAULT_ADDRESS_POOLS.filter((p) => p.base !== '172.17.0.0/16');
export const IPV6_POOL_SIZE = 64;

/** A subnet in CIDR notation with no host bits set; `what` names it in the message. */
export function parseSubnet(text: string, what: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new PluginError(`invalid ${what} ${JSON.stringify(text)}: expected CIDR notation such as 10.1.0.0/16`);
  const net = networkOf(c);
  if (net !== c.addr.value) {
    throw new PluginError(`invalid ${what} ${text}: it has host bits set (did you mean ${formatCidr({ addr: { ...c.addr, value: net }, prefix: c.prefix })}?)`);
  }
  const bits = familyBits(c.addr.family);
  if (c.prefix > bits - 2) throw new PluginError(`${what} ${text} is too small: an ${familyName(c.addr.family)} pool needs a prefix of /${bits - 2} or shorter`);
  return c;
}

/** Docker's style of pool id: "<address space>/<pool>[/<sub-pool>]". */
export const poolId = (space: string, pool: string, subPool?: string): string => `${space}/${pool}${subPool ? `/${subPool}` : ''}`;

/** The pool's IPAM store directory name (one path component). */
export const poolDirName = (id: string): string => id.replace(/\//g, '_');

/** A random RFC 4193 prefix: fd + 40 random bits, as a /48. */
export function newUlaPrefix(random: Buffer): string {
  if (random.length < 5) throw new TypeError('newUlaPrefix needs 5 random bytes');
  let value = 0xfdn;
  for (const b of random.subarray(0, 5)) value = (value << 8n) | BigInt(b);
  return formatCidr({ addr: { family: 6, value: value << 80n }, prefix: 48 });
}

export interface PoolContext {
  existing: readonly PoolRecord[];
  /** Destinations of the host namespace's routes (automatic pools only). */
  hostRoutes: readonly string[];
  /** The plugin's ULA /48. */
  ula: string;
}

const contains = (outer: Cidr, inner: Cidr): boolean =>
  outer.addr.family === inner.addr.family && inner.prefix >= outer.prefix && networkOf({ addr: inner.addr, prefix: outer.prefix }) === networkOf(outer);

/** Decides the pool for a RequestPool; throws a PluginError saying why there is none. */
export function choosePool(req: RequestPoolRequest, ctx: PoolContext): PoolRecord {
  const space = req.AddressSpace || LOCAL_ADDRESS_SPACE;
  if (space !== LOCAL_ADDRESS_SPACE && space !== GLOBAL_ADDRESS_SPACE) {
    throw new PluginError(`unknown address space ${JSON.stringify(space)}: this IPAM driver has ${LOCAL_ADDRESS_SPACE} and ${GLOBAL_ADDRESS_SPACE}`);
  }
  const family: Family = req.V6 ? 6 : 4;
  const inUse = ctx.existing.filter((p) => p.v6 === req.V6).map((p) => p.pool);
  let pool: string;
  if (req.Pool) {
    const c = parseSubnet(req.Pool, 'subnet');
    if (c.addr.family !== family) throw new PluginError(`subnet ${req.Pool} is not an ${familyName(family)} subnet`);
    pool = formatCidr(c);
    const clash = findOverlap(pool, inUse);
    if (clash) {
      throw new PluginError(
        clash === pool ? `subnet ${pool} is already used by another network` : `subnet ${pool} overlaps ${clash}, which another network uses`,
      );
    }
  } else {
    if (req.SubPool) throw new PluginError(`an ip-range (${req.SubPool}) needs a --subnet to lie in`);
    try {
      pool = chooseSubnet({
        family,
        pools: family === 4 ? AUTO_IPV4_POOLS : [{ base: ctx.ula, size: IPV6_POOL_SIZE }],
        inUse,
        hostRoutes: ctx.hostRoutes,
      });
    } catch (err) {
      throw new PluginError((err as Error).message);
    }
  }
  let subPool: string | undefined;
  if (req.SubPool) {
    const sub = parseSubnet(req.SubPool, 'ip-range');
    if (!contains(parseCidr(pool)!, sub)) throw new PluginError(`ip-range ${req.SubPool} is not inside the subnet ${pool}`);
    subPool = formatCidr(sub);
  }
  return { id: poolId(space, pool, subPool), addressSpace: space, pool, subPool, v6: req.V6 };
}

function rangeOf(block: Cidr, subnet: Cidr): Range {
  const { family } = subnet.addr;
  // The IPv4 network and broadcast addresses, and IPv6's subnet-router anycast address, stay out.
  const low = networkOf(subnet) + 1n;
  const high = family === 4 ? lastOf(subnet) - 1n : lastOf(subnet);
  const start = networkOf(block) > low ? networkOf(block) : low;
  const end = lastOf(block) < high ? lastOf(block) : high;
  // No gateway inside the range: dockerd reserves the gateway through RequestAddress like any address.
  return { family, subnet: { addr: { family, value: networkOf(subnet) }, prefix: subnet.prefix }, start, end, gateway: -1n };
}

/** The allocator's ranges: explicit requests may take any host address of the pool, automatic ones the sub-pool's. */
export function poolRanges(p: PoolRecord): { whole: Range; auto: Range } {
  const subnet = parseCidr(p.pool)!;
  const whole = rangeOf(subnet, subnet);
  return { whole, auto: p.subPool ? rangeOf(parseCidr(p.subPool)!, subnet) : whole };
}

/** The first host address of the pool: the gateway when dockerd asks for one without naming it. */
export const firstHost = (p: PoolRecord): string => {
  const c = parseCidr(p.pool)!;
  return formatAddr({ family: c.addr.family, value: networkOf(c) + 1n });
};
