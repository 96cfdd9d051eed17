// The bridge plugin's config: the reference bridge plugin's keys with the same meaning and
// defaults (so reference configs work unchanged), plus ctnet's Docker-network options.
import * as v from 'valibot';
import { CniError, ErrorCode } from '../cni/errors.js';
import { parseConfigWith, refuseUnsupported } from '../cni/schema.js';
import type { CmdArgs } from '../cni/skel.js';
import type { NetConf } from '../cni/types.js';
import { validateInterfaceName } from '../cni/validate.js';
import { normalizeMapping, type PortMapping } from '../nat/index.js';

const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

const flag = v.optional(v.boolean('must be true or false'), false);

const schema = v.looseObject({
  bridge: v.optional(v.string('must be a string'), 'cni0'),
  isGateway: flag,
  isDefaultGateway: flag,
  forceAddress: flag,
  ipMasq: flag,
  mtu: v.optional(v.pipe(v.number('must be a number'), v.integer('must be an integer'), v.minValue(0, 'must be >= 0'), v.maxValue(65535, 'must be <= 65535')), 0),
  hairpinMode: flag,
  promiscMode: flag,
  enabledad: flag,
  disableContainerInterface: flag,
  portIsolation: flag,
  vlan: v.optional(v.pipe(v.number('must be a number'), v.integer('must be an integer'), v.minValue(0, 'must be between 0 and 4094'), v.maxValue(4094, 'must be between 0 and 4094')), 0),
  ipam: v.optional(v.looseObject({ type: v.pipe(v.string('must be a string'), v.minLength(1, 'must name an IPAM plugin')) })),
  // ctnet's Docker-network options (ignored by the reference plugin).
  /** Inter-container communication on this bridge (Docker's enable_icc). */
  icc: v.optional(v.boolean('must be true or false'), true),
  /** Docker's --internal: no masquerade, no default route, no traffic leaves the bridge's subnet. */
  internal: flag,
  /** Docker's isolation between bridge networks: no traffic to containers of other networks that set it (published ports excepted). */
  isolateNetworks: flag,
  /** Default host address for published ports without hostIP (Docker's host_binding_ipv4). */
  hostBindingIP: v.optional(v.pipe(v.string(), v.ip('must be an IP address'))),
  /** Where the firewall records and host-port reservations live (default $CTNET_NAT_DATA_DIR, else /run/cni/ctnet). */
  firewallDataDir: v.optional(v.pipe(v.string('must be a string'), v.nonEmpty('must not be empty'))),
});

/** Reference keys whose behaviour ctnet does not implement. */
const UNSUPPORTED = ['vlanTrunk', 'preserveDefaultVlan', 'macspoofchk', 'ipMasqBackend'];

export type BridgeConf = NetConf &
  v.InferOutput<typeof schema> & {
    /** The MAC requested for the container interface, if any. */
    mac?: string;
    /** runtimeConfig.portMappings (the portMappings capability), validated. */
    portMappings: PortMapping[];
  };

export function parseBridgeConfig(raw: NetConf, args: CmdArgs): BridgeConf {
  refuseUnsupported(raw, UNSUPPORTED, 'bridge');
  const conf = parseConfigWith(schema, raw) as BridgeConf;
  validateInterfaceName(conf.bridge, 'bridge name');
  if (conf.isDefaultGateway) conf.isGateway = true;
  if (conf.vlan && conf.isGateway) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'bridge: "vlan" cannot be combined with "isGateway" (the gateway address would sit on the untagged bridge)');
  }
  conf.mac = pickMac(raw, args);
  const mappings = raw.runtimeConfig?.portMappings ?? [];
  if (!Array.isArray(mappings)) throw new CniError(ErrorCode.InvalidNetworkConfig, 'bridge: runtimeConfig.portMappings must be a list');
  conf.portMappings = mappings.map((m, i) => normalizeMapping(m, `bridge: runtimeConfig.portMappings[${i}]`));
  if (conf.internal && conf.portMappings.length > 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'bridge: ports cannot be published on an internal network');
  }
  return conf;
}

/** runtimeConfig.mac, then args.cni.mac, then CNI_ARGS MAC= (the reference order). */
function pickMac(raw: NetConf, args: CmdArgs): string | undefined {
  const candidates: Array<[string, unknown]> = [
    ['runtimeConfig.mac', raw.runtimeConfig?.mac],
    ['args.cni.mac', raw.args?.cni?.mac],
    ['CNI_ARGS MAC', args.args.get('MAC')],
  ];
  for (const [where, value] of candidates) {
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string' || !MAC.test(value)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `bridge: ${where} ${JSON.stringify(value)} is not a MAC address (expected aa:bb:cc:dd:ee:ff)`);
    }
    if ((parseInt(value.slice(0, 2), 16) & 1) === 1) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `bridge: ${where} ${value} is a multicast address; a container needs a unicast MAC`);
    }
    return value.toLowerCase();
  }
  return undefined;
}
