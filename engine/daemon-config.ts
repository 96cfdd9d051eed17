// daemon.json, as Docker reads it, for the keys that shape ctnet's networks: `bip`, `fixed-cidr`,
// `mtu`, `dns`, `default-address-pools`, `ip` and `icc`. Other keys are refused (Docker refuses
// directives it does not know too), so a typo never silently means "default". Pure apart from
// loadDaemonConfig's read.
import { readFileSync } from 'node:fs';
import { formatAddr, formatCidr, networkOf, parseAddr, parseCidr } from '../ip/address.js';
import type { BridgeDefaults, BridgeNetworkRequest } from './network-config.js';
import { type AddressPool, parsePools } from './subnet-pools.js';

export const DEFAULT_DAEMON_CONFIG = '/etc/ctnet/daemon.json';
/** The default network's bridge (Docker's docker0). */
export const DEFAULT_BRIDGE_NAME = 'ctnet0';

export interface DaemonConfig {
  /** The default bridge's gateway and prefix, e.g. 10.0.0.1/16. */
  bip?: string;
  /** Where the default bridge hands out addresses (a subnet of bip's). */
  fixedCidr?: string;
  mtu?: number;
  /** Nameservers for containers (and the upstreams of the DNS responder). */
  dns?: string[];
  defaultAddressPools?: AddressPool[];
  /** Default host address of published ports. */
  ip?: string;
  /** Inter-container traffic on the default bridge. */
  icc?: boolean;
}

const KEYS = ['bip', 'fixed-cidr', 'mtu', 'dns', 'default-address-pools', 'ip', 'icc'];

/** Validates daemon.json's text; `source` names the file in messages. */
export function parseDaemonConfig(text: string, source = 'daemon.json'): DaemonConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source} must hold a JSON object`);
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new Error(`${source}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (ctnet reads ${KEYS.join(', ')})`);
  const bad = (key: string, why: string) => new Error(`${source}: invalid ${key} ${JSON.stringify(r[key])}: ${why}`);
  const out: DaemonConfig = {};

  if (r.bip !== undefined) {
    const c = typeof r.bip === 'string' ? parseCidr(r.bip) : undefined;
    if (!c || c.addr.family !== 4) throw bad('bip', 'expected the gateway address with a prefix length, e.g. 10.0.0.1/16');
    if (c.addr.value === networkOf(c)) throw bad('bip', 'that is the network address; give the gateway address, e.g. 10.0.0.1/16');
    out.bip = r.bip as string;
  }
  if (r['fixed-cidr'] !== undefined) {
    const c = typeof r['fixed-cidr'] === 'string' ? parseCidr(r['fixed-cidr']) : undefined;
    if (!c || c.addr.family !== 4) throw bad('fixed-cidr', 'expected an IPv4 subnet, e.g. 10.0.1.0/24');
    out.fixedCidr = formatCidr({ addr: { ...c.addr, value: networkOf(c) }, prefix: c.prefix });
  }
  if (r.mtu !== undefined) {
    if (!Number.isInteger(r.mtu) || (r.mtu as number) < 68 || (r.mtu as number) > 65535) throw bad('mtu', 'expected a number from 68 to 65535');
    out.mtu = r.mtu as number;
  }
  if (r.dns !== undefined) {
    if (!Array.isArray(r.dns) || !r.dns.every((s) => typeof s === 'string' && parseAddr(s))) throw bad('dns', 'expected a list of IP addresses');
    out.dns = r.dns as string[];
  }
  if (r['default-address-pools'] !== undefined) {
    if (!Array.isArray(r['default-address-pools'])) throw bad('default-address-pools', 'expected a list of {"base": CIDR, "size": N}');
    parsePools(r['default-address-pools'] as AddressPool[]);
    out.defaultAddressPools = (r['default-address-pools'] as AddressPool[]).map(({ base, size }) => ({ base, size }));
  }
  if (r.ip !== undefined) {
    if (typeof r.ip !== 'string' || !parseAddr(r.ip)) throw bad('ip', 'expected an IP address');
    out.ip = r.ip;
  }
  if (r.icc !== undefined) {
    if (typeof r.icc !== 'boolean') throw bad('icc', 'expected true or false');
    out.icc = r.icc;
  }
  return out;
}

/** Reads daemon.json; a missing default file means no settings, a missing --config file is an error. */
export function loadDaemonConfig(path = DEFAULT_DAEMON_CONFIG, opts: { required?: boolean } = {}): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !opts.required) return {};
    throw new Error(`cannot read the daemon config ${path}: ${(err as Error).message}`);
  }
  return parseDaemonConfig(text, path);
}

/** The settings every bridge network gets. */
export function bridgeDefaults(config: DaemonConfig, ipamDataDir: string): BridgeDefaults {
  return {
    ipamDataDir,
    ...(config.mtu ? { mtu: config.mtu } : {}),
    ...(config.dns?.length ? { dns: config.dns } : {}),
    ...(config.ip ? { hostBindingIP: config.ip } : {}),
  };
}

/**
 * The default `bridge` network as daemon.json describes it. Without `bip` it keeps `current`
 * (the subnet it was given when created), so its own route never makes it move.
 */
export function defaultBridgeRequest(config: DaemonConfig, current?: readonly string[]): BridgeNetworkRequest {
  const req: BridgeNetworkRequest = {
    name: 'bridge',
    builtin: true,
    options: {
      'com.docker.network.bridge.name': DEFAULT_BRIDGE_NAME,
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': String(config.icc ?? true),
    },
  };
  if (config.bip) {
    const c = parseCidr(config.bip)!;
    req.subnets = [formatCidr({ addr: { ...c.addr, value: networkOf(c) }, prefix: c.prefix })];
    req.gateways = [formatAddr(c.addr)];
  } else if (current?.length) {
    req.subnets = [...current];
  }
  if (config.fixedCidr) req.ipRanges = [config.fixedCidr];
  return req;
}
