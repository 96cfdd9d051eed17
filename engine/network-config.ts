// A Docker-style network as a CNI config list: `docker network create` options (subnets,
// gateways, ip-ranges, --ipv6, --internal, labels, -o driver options) become one bridge plugin
// config with host-local IPAM, and ctnet's own metadata (what `network inspect` shows that CNI has
// no key for) rides along in a top-level "ctnet" key, which CNI runtimes ignore. Pure: the caller
// passes the existing networks and the host's routes.
import { randomBytes } from 'node:crypto';
import { type Cidr, type Family, familyBits, formatAddr, formatCidr, lastOf, networkOf, parseAddr, parseCidr } from '../ip/address.js';
import { MAX_IFNAME_BYTES } from '../cni/validate.js';
import type { PluginConf } from './conflist.js';
import { type AddressPool, DEFAULT_ADDRESS_POOLS, chooseSubnet, cidrsOverlap } from './subnet-pools.js';

/**
 * Generated lists offer 1.1.0 (GC, STATUS) through cniVersions, which runtimes that know it pick,
 * and name 1.0.0 as cniVersion for libcni before 1.2 (Debian's, for one), which ignores
 * cniVersions and cannot decode a 1.1.0 result.
 */
export const GENERATED_CNI_VERSION = '1.0.0';
export const GENERATED_CNI_VERSIONS: readonly string[] = ['1.0.0', '1.1.0'];

/** One entry of Docker's IPAM.Config. */
export interface IpamConfig {
  subnet: string;
  gateway: string;
  ipRange?: string;
}

/** What ctnet keeps about a network beyond the CNI config (Docker's inspect fields). */
export interface NetworkMeta {
  id: string;
  /** RFC 3339. */
  created: string;
  driver: 'bridge';
  scope: 'local';
  internal: boolean;
  ipv6: boolean;
  ipam: IpamConfig[];
  /** The subnets were given by the user (--subnet): only then may a container ask for an address (--ip), as on Docker. */
  userSubnets?: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
}

/** A stored network: a CNI config list plus the "ctnet" metadata key. */
export interface ConfListDocument {
  cniVersion: string;
  cniVersions?: string[];
  name: string;
  plugins: PluginConf[];
  ctnet: NetworkMeta;
}

/** daemon.json settings that shape every bridge network. */
export interface BridgeDefaults {
  /** `mtu`. */
  mtu?: number;
  /** `dns`: nameservers handed to containers. */
  dns?: string[];
  /** `ip`: the default host address of published ports. */
  hostBindingIP?: string;
  /** Where host-local keeps reservations (default: host-local's /var/lib/cni/networks). */
  ipamDataDir?: string;
}

export interface BridgeNetworkRequest {
  name: string;
  subnets?: readonly string[];
  gateways?: readonly string[];
  ipRanges?: readonly string[];
  ipv6?: boolean;
  internal?: boolean;
  labels?: Record<string, string>;
  /** -o driver options (com.docker.network.bridge.* and com.docker.network.driver.mtu). */
  options?: Record<string, string>;
  /** Set by the engine for its built-in networks, whose names users may not take. */
  builtin?: boolean;
}

export interface BuildContext {
  existing: readonly ConfListDocument[];
  /** Destinations of the host's routes, avoided by automatic subnets. */
  hostRoutes?: readonly string[];
  /** daemon.json default-address-pools (IPv4 and IPv6 entries); default Docker's IPv4 pools. */
  pools?: readonly AddressPool[];
  defaults?: BridgeDefaults;
  /** Injectable for tests. */
  id?: string;
  created?: string;
}

export const PREDEFINED_NETWORKS = ['bridge', 'host', 'none'] as const;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Keeps libcni's cache file names (<network>-<64-char id>-<ifname>) under 255 bytes. */
export const MAX_NETWORK_NAME = 128;

/** Docker's name characters (which are also CNI's); the predefined names only for the engine itself. */
export function validateNetworkName(name: string, opts: { builtin?: boolean } = {}): void {
  if (!name) throw new Error('a network needs a name');
  if (!NAME.test(name)) throw new Error(`invalid network name ${JSON.stringify(name)}: use letters, digits, '_', '.' and '-', starting with a letter or digit`);
  if (name.length > MAX_NETWORK_NAME) throw new Error(`invalid network name: ${name.length} characters, at most ${MAX_NETWORK_NAME}`);
  if (!opts.builtin && (PREDEFINED_NETWORKS as readonly string[]).includes(name)) {
    throw new Error(`${name} is a pre-defined network and cannot be created`);
  }
}

const OPT = {
  bridgeName: 'com.docker.network.bridge.name',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  icc: 'com.docker.network.bridge.enable_icc',
  hostBinding: 'com.docker.network.bridge.host_binding_ipv4',
  defaultBridge: 'com.docker.network.bridge.default_bridge',
  mtu: 'com.docker.network.driver.mtu',
} as const;
const KNOWN_OPTIONS: readonly string[] = Object.values(OPT);

/** Go's strconv.ParseBool, which Docker uses for its boolean driver options. */
function parseBool(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new Error(`invalid value ${JSON.stringify(value)} for option ${key}: expected true or false`);
}

export interface BridgeOptions {
  bridge: string;
  ipMasq: boolean;
  icc: boolean;
  mtu?: number;
  hostBindingIP?: string;
}

/** The -o driver options, validated, over the daemon defaults. Unknown keys of Docker's bridge namespace are refused. */
export function parseBridgeOptions(options: Record<string, string>, id: string, defaults: BridgeDefaults = {}): BridgeOptions {
  for (const key of Object.keys(options)) {
    if (/^com\.docker\.network\.(bridge|driver)\./.test(key) && !KNOWN_OPTIONS.includes(key)) {
      throw new Error(`driver option ${key} is not supported by ctnet (supported: ${KNOWN_OPTIONS.join(', ')})`);
    }
  }
  const out: BridgeOptions = {
    // Docker names user bridges after the network id.
    bridge: options[OPT.bridgeName] ?? `br-${id.slice(0, 12)}`,
    ipMasq: parseBool(OPT.masquerade, options[OPT.masquerade], true),
    icc: parseBool(OPT.icc, options[OPT.icc], true),
  };
  if (!/^[a-zA-Z0-9_.-]+$/.test(out.bridge) || out.bridge.length > MAX_IFNAME_BYTES) {
    throw new Error(`invalid bridge name ${JSON.stringify(out.bridge)} (${OPT.bridgeName}): at most ${MAX_IFNAME_BYTES} letters, digits, '_', '.' or '-'`);
  }
  const mtuText = options[OPT.mtu];
  const mtu = mtuText === undefined ? defaults.mtu : /^\d+$/.test(mtuText) ? Number(mtuText) : NaN;
  if (mtu !== undefined) {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`invalid MTU ${JSON.stringify(mtuText ?? mtu)}: expected a number from 68 to 65535`);
    out.mtu = mtu;
  }
  const binding = options[OPT.hostBinding] ?? defaults.hostBindingIP;
  if (binding !== undefined) {
    if (!parseAddr(binding)) throw new Error(`invalid host binding address ${JSON.stringify(binding)} (${OPT.hostBinding})`);
    out.hostBindingIP = binding;
  }
  return out;
}

function parseSubnet(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new Error(`invalid subnet ${JSON.stringify(text)}: expected CIDR notation such as 10.1.0.0/16`);
  if (networkOf(c) !== c.addr.value) throw new Error(`invalid subnet ${text}: it has host bits set (did you mean ${formatCidr({ addr: { ...c.addr, value: networkOf(c) }, prefix: c.prefix })}?)`);
  return c;
}

const contains = (outer: Cidr, inner: Cidr) =>
  outer.addr.family === inner.addr.family && inner.prefix >= outer.prefix && networkOf({ addr: inner.addr, prefix: outer.prefix }) === networkOf(outer);

/**
 * Pairs --gateway and --ip-range values with the --subnet containing each (the docker CLI's rules):
 * every gateway and range needs its subnet, and a subnet takes at most one of each.
 */
export function pairIpamOptions(subnets: readonly string[], gateways: readonly string[] = [], ipRanges: readonly string[] = []): Array<{ subnet: string; gateway?: string; ipRange?: string }> {
  const entries = subnets.map((s) => ({ subnet: s, cidr: parseSubnet(s), gateway: undefined as string | undefined, ipRange: undefined as string | undefined }));
  entries.forEach((a, i) =>
    entries.slice(i + 1).forEach((b) => {
      if (cidrsOverlap(a.cidr, b.cidr)) throw new Error(`subnets ${a.subnet} and ${b.subnet} overlap`);
    }),
  );
  for (const gw of gateways) {
    const addr = parseAddr(gw);
    if (!addr) throw new Error(`invalid gateway ${JSON.stringify(gw)}: expected an IP address`);
    const owner = entries.find((e) => contains(e.cidr, { addr, prefix: familyBits(addr.family) }));
    if (!owner) throw new Error(`no --subnet contains gateway ${gw}`);
    if (owner.gateway) throw new Error(`subnet ${owner.subnet} cannot have two gateways (${owner.gateway}, ${gw})`);
    owner.gateway = gw;
  }
  for (const range of ipRanges) {
    const r = parseSubnet(range);
    const owner = entries.find((e) => contains(e.cidr, r));
    if (!owner) throw new Error(`no --subnet contains ip-range ${range}`);
    if (owner.ipRange) throw new Error(`subnet ${owner.subnet} cannot have two ip-ranges (${owner.ipRange}, ${range})`);
    owner.ipRange = range;
  }
  return entries.map(({ subnet, gateway, ipRange }) => ({ subnet, ...(gateway ? { gateway } : {}), ...(ipRange ? { ipRange } : {}) }));
}

/** Fills in the gateway (the subnet's first address, as Docker) and checks it is usable. */
function completeIpam(entry: { subnet: string; gateway?: string; ipRange?: string }): IpamConfig {
  const cidr = parseSubnet(entry.subnet);
  const family = cidr.addr.family;
  const first = networkOf(cidr) + 1n;
  const gateway = entry.gateway ?? formatAddr({ family, value: first });
  const gw = parseAddr(gateway)!;
  if (gw.value === networkOf(cidr) || (family === 4 && cidr.prefix < 31 && gw.value === lastOf(cidr))) {
    throw new Error(`gateway ${gateway} is the ${gw.value === networkOf(cidr) ? 'network' : 'broadcast'} address of ${entry.subnet}`);
  }
  return { subnet: formatCidr(cidr), gateway, ...(entry.ipRange ? { ipRange: entry.ipRange } : {}) };
}

/** host-local's range for one IPAM entry; an ip-range becomes rangeStart..rangeEnd. */
function hostLocalRange(entry: IpamConfig): Record<string, string> {
  const range: Record<string, string> = { subnet: entry.subnet, gateway: entry.gateway };
  if (entry.ipRange) {
    const subnet = parseSubnet(entry.subnet);
    const r = parseSubnet(entry.ipRange);
    const family = subnet.addr.family;
    const lowest = networkOf(subnet) + 1n;
    // The IPv4 broadcast address is never handed out.
    const highest = family === 4 ? lastOf(subnet) - 1n : lastOf(subnet);
    range.rangeStart = formatAddr({ family, value: networkOf(r) > lowest ? networkOf(r) : lowest });
    range.rangeEnd = formatAddr({ family, value: lastOf(r) < highest ? lastOf(r) : highest });
  }
  return range;
}

const pluginOf = (doc: ConfListDocument) => doc.plugins[0] ?? { type: '' };

/** Subnets a stored network uses. */
export const subnetsOf = (doc: ConfListDocument): string[] => doc.ctnet.ipam.map((c) => c.subnet);

/** The IPAM entries of a request: given subnets checked against other networks, missing families chosen from the pools. */
function resolveIpam(req: BridgeNetworkRequest, ctx: BuildContext): IpamConfig[] {
  const paired = pairIpamOptions(req.subnets ?? [], req.gateways, req.ipRanges);
  const taken = ctx.existing.filter((d) => d.name !== req.name).flatMap((d) => subnetsOf(d).map((s) => ({ subnet: s, network: d.name })));
  for (const { subnet } of paired) {
    const clash = taken.find((t) => cidrsOverlap(parseSubnet(subnet), parseCidr(t.subnet)!));
    if (clash) throw new Error(`subnet ${subnet} overlaps ${clash.subnet} of network ${JSON.stringify(clash.network)}`);
  }
  const familyOf = (s: string): Family => parseSubnet(s).addr.family;
  if (!req.ipv6 && paired.some((p) => familyOf(p.subnet) === 6)) throw new Error('an IPv6 --subnet needs --ipv6');
  const wanted: Family[] = req.ipv6 ? [4, 6] : [4];
  for (const family of wanted) {
    if (paired.some((p) => familyOf(p.subnet) === family)) continue;
    const subnet = chooseSubnet({
      family,
      pools: ctx.pools ?? DEFAULT_ADDRESS_POOLS,
      inUse: taken.map((t) => t.subnet),
      hostRoutes: ctx.hostRoutes,
    });
    paired.push({ subnet });
  }
  return paired.map(completeIpam);
}

/** The bridge plugin's config for a network (the list's only plugin: it publishes ports itself). */
export function bridgePluginConf(meta: NetworkMeta, defaults: BridgeDefaults = {}): PluginConf {
  const opts = parseBridgeOptions(meta.options, meta.id, defaults);
  const ranges = ([4, 6] as const)
    .map((family) => meta.ipam.filter((c) => parseSubnet(c.subnet).addr.family === family).map(hostLocalRange))
    .filter((set) => set.length > 0);
  return {
    type: 'bridge',
    bridge: opts.bridge,
    isGateway: true,
    // An internal network has no way out: no default route, no masquerade.
    ...(meta.internal ? { internal: true } : { isDefaultGateway: true }),
    ipMasq: opts.ipMasq && !meta.internal,
    hairpinMode: true,
    ...(opts.mtu ? { mtu: opts.mtu } : {}),
    ...(opts.icc ? {} : { icc: false }),
    // Docker's isolation between bridge networks.
    isolateNetworks: true,
    ...(opts.hostBindingIP ? { hostBindingIP: opts.hostBindingIP } : {}),
    ipam: { type: 'host-local', ranges, ...(defaults.ipamDataDir ? { dataDir: defaults.ipamDataDir } : {}) },
    ...(defaults.dns?.length ? { dns: { nameservers: [...defaults.dns] } } : {}),
    capabilities: { portMappings: true, ips: true, mac: true },
  };
}

/** A new bridge network's document: validated, subnets resolved, bridge name unique among the networks. */
export function buildBridgeNetwork(req: BridgeNetworkRequest, ctx: BuildContext): ConfListDocument {
  validateNetworkName(req.name, { builtin: req.builtin });
  if (ctx.existing.some((d) => d.name === req.name)) throw new Error(`network with name ${req.name} already exists`);
  const id = ctx.id ?? randomBytes(32).toString('hex');
  const options = { ...(req.options ?? {}) };
  const ipam = resolveIpam(req, ctx);
  const bridge = parseBridgeOptions(options, id, ctx.defaults).bridge;
  const sharing = ctx.existing.find((d) => pluginOf(d).type === 'bridge' && pluginOf(d).bridge === bridge);
  if (sharing) throw new Error(`bridge ${bridge} is already used by network ${JSON.stringify(sharing.name)}`);
  const meta: NetworkMeta = {
    id,
    created: ctx.created ?? new Date().toISOString(),
    driver: 'bridge',
    scope: 'local',
    internal: req.internal ?? false,
    ipv6: req.ipv6 ?? false,
    ipam,
    ...(req.subnets?.length ? { userSubnets: true } : {}),
    labels: { ...(req.labels ?? {}) },
    options,
  };
  return {
    cniVersion: GENERATED_CNI_VERSION,
    cniVersions: [...GENERATED_CNI_VERSIONS],
    name: req.name,
    plugins: [bridgePluginConf(meta, ctx.defaults)],
    ctnet: meta,
  };
}
