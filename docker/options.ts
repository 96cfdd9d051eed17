// A network's settings from a CreateNetwork request: `docker network create -o` options (through
// the engine's parser, so `ctnet network create` and the Docker plugin honour the same options the
// same way), --internal, --ipv6, and the subnets and gateways IPAM handed out. Pure.
import { parseBridgeOptions } from '../engine/network-config.js';
import { formatAddr, formatCidr, networkOf, parseCidr } from '../ip/address.js';
import { PluginError } from './errors.js';
import { type CreateNetworkRequest, type IpamData, LABEL } from './protocol.js';

/** The bridge a network gets when `-o com.docker.network.bridge.name` does not name one. */
export const defaultBridgeName = (networkId: string): string => `ct-${networkId.slice(0, 12)}`;

export interface Subnet {
  /** "10.1.2.0/24". */
  subnet: string;
  /** "10.1.2.1/24" (the gateway with the subnet's prefix), or undefined when the network has none. */
  gateway: string | undefined;
}

export interface NetworkSettings {
  bridge: string;
  mtu: number | undefined;
  /** Inter-container communication (enable_icc): off isolates the bridge ports from each other. */
  icc: boolean;
  ipMasq: boolean;
  hostBindingIP: string | undefined;
  internal: boolean;
  ipv6: boolean;
  subnets: Subnet[];
}

/** Go's strconv.ParseBool spellings, for the flags libnetwork may pass as strings. */
function flag(value: unknown, key: string): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  }
  throw new PluginError(`invalid value ${JSON.stringify(value)} for ${key}: expected true or false`);
}

/** The -o options as strings (dockerd sends map[string]string; be lenient with scalars). */
function driverOptions(generic: unknown): Record<string, string> {
  if (generic === undefined || generic === null) return {};
  if (typeof generic !== 'object' || Array.isArray(generic)) throw new PluginError(`${LABEL.generic} must be an object of driver options`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(generic)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
  }
  return out;
}

function subnetOf(data: IpamData, family: 4 | 6): Subnet {
  const pool = parseCidr(data.Pool);
  if (!pool || pool.addr.family !== family) {
    throw new PluginError(`IPv${family}Data: pool ${JSON.stringify(data.Pool)} is not an IPv${family} subnet in CIDR notation`);
  }
  const subnet = formatCidr({ addr: { family, value: networkOf(pool) }, prefix: pool.prefix });
  if (!data.Gateway) return { subnet, gateway: undefined };
  // libnetwork sends the gateway with the pool's prefix; accept a bare address too.
  const gw = parseCidr(data.Gateway) ?? parseCidr(`${data.Gateway}/${pool.prefix}`);
  if (!gw || gw.addr.family !== family || networkOf({ addr: gw.addr, prefix: pool.prefix }) !== networkOf(pool)) {
    throw new PluginError(`gateway ${JSON.stringify(data.Gateway)} is not an address of the pool ${subnet}`);
  }
  return { subnet, gateway: `${formatAddr(gw.addr)}/${pool.prefix}` };
}

export function parseNetworkSettings(req: CreateNetworkRequest): NetworkSettings {
  const options = driverOptions(req.Options[LABEL.generic]);
  options['com.docker.network.bridge.name'] ||= defaultBridgeName(req.NetworkID);
  let parsed;
  try {
    parsed = parseBridgeOptions(options, req.NetworkID);
  } catch (err) {
    throw new PluginError((err as Error).message);
  }
  const subnets = [...req.IPv4Data.map((d) => subnetOf(d, 4)), ...req.IPv6Data.map((d) => subnetOf(d, 6))];
  const ipv6 = flag(req.Options[LABEL.enableIPv6], LABEL.enableIPv6) || req.IPv6Data.length > 0;
  return {
    bridge: parsed.bridge,
    mtu: parsed.mtu,
    icc: parsed.icc,
    ipMasq: parsed.ipMasq,
    hostBindingIP: parsed.hostBindingIP,
    internal: flag(req.Options[LABEL.internal], LABEL.internal),
    ipv6,
    subnets,
  };
}

/** The subnet of `settings` that holds `address` ("10.1.2.5/24" or a bare address). */
export function subnetFor(subnets: readonly Subnet[], address: string): Subnet | undefined {
  const a = parseCidr(address) ?? parseCidr(`${address}/${address.includes(':') ? 128 : 32}`);
  if (!a) return undefined;
  return subnets.find((s) => {
    const c = parseCidr(s.subnet)!;
    return c.addr.family === a.addr.family && networkOf({ addr: a.addr, prefix: c.prefix }) === networkOf(c);
  });
}

/** "10.1.2.1/24" -> "10.1.2.1". */
export const bareAddress = (cidr: string): string => cidr.split('/')[0] ?? cidr;
