// `firewall` (chained): the reference firewall plugin's iptables backend (see cni-firewall.ts):
// the container's traffic accepted in CNI-FORWARD, admin overrides in CNI-ADMIN, and ingressPolicy
// "open" (default), "same-bridge" or "isolated". DEL and GC work from recorded state, so they need no prevResult.
import * as v from 'valibot';
import { CniError, ErrorCode } from '../cni/errors.js';
import { parseConfigWith } from '../cni/schema.js';
import type { CmdArgs, Plugin } from '../cni/skel.js';
import type { NetConf } from '../cni/types.js';
import { containerAddresses, hostInterface } from './cni-input.js';
import { validAttachments } from '../cni/gc.js';
import { DEFAULT_ADMIN_CHAIN, INGRESS_POLICIES, planCniFirewall, type CniFirewallSpec, type IngressPolicy } from './cni-firewall.js';
import { ensureBridgeFiltering } from './bridge-netfilter.js';
import { IptablesBackend } from './iptables-backend.js';

export const FIREWALL_OWNER = 'firewall';

const schema = v.looseObject({
  backend: v.optional(v.string('must be a string')),
  iptablesAdminChainName: v.optional(v.pipe(v.string('must be a string'), v.regex(/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,27}$/, 'must be an iptables chain name')), DEFAULT_ADMIN_CHAIN),
  ingressPolicy: v.optional(v.string('must be a string'), 'open'),
  /** Only meaningful to the firewalld backend, which ctnet does not have; accepted for config compatibility. */
  firewalldZone: v.optional(v.string('must be a string')),
  dataDir: v.optional(v.pipe(v.string('must be a string'), v.nonEmpty('must not be empty'))),
});

export type FirewallConf = NetConf & v.InferOutput<typeof schema>;

export function parseFirewallConfig(raw: NetConf): FirewallConf {
  const conf = parseConfigWith(schema, raw, 'firewall config');
  // Podman 4 writes "backend": ""; the reference plugins read it as the default.
  if (conf.backend !== undefined && conf.backend !== '' && conf.backend !== 'iptables') {
    throw new CniError(ErrorCode.UnsupportedField, `firewall: backend ${JSON.stringify(conf.backend)} is not supported by ctnet (only "iptables")`);
  }
  if (conf.ingressPolicy === '') conf.ingressPolicy = 'open';
  if (!INGRESS_POLICIES.includes(conf.ingressPolicy as IngressPolicy)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `firewall: unknown ingressPolicy ${JSON.stringify(conf.ingressPolicy)} (expected "open", "same-bridge" or "isolated")`);
  }
  return conf as FirewallConf;
}

const backendFor = (conf: FirewallConf) => new IptablesBackend({ dataDir: conf.dataDir, log: (m) => process.stderr.write(`firewall: ${m}\n`) });

function spec(args: CmdArgs, conf: FirewallConf): CniFirewallSpec {
  const prev = conf.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'firewall must be chained after a plugin that reports the container addresses (no prevResult)');
  const policy = conf.ingressPolicy as CniFirewallSpec['ingressPolicy'];
  const bridge = hostInterface(prev);
  if (policy !== 'open' && !bridge) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `firewall: ingressPolicy "${policy}" needs the bridge in prevResult; chain "firewall" after "bridge"`);
  }
  return {
    network: conf.name,
    containerId: args.containerId,
    ifname: args.ifname,
    owner: FIREWALL_OWNER,
    ips: containerAddresses(prev, args.ifname),
    adminChain: conf.iptablesAdminChainName,
    ingressPolicy: policy,
    ...(bridge ? { bridge } : {}),
  };
}

export const firewallPlugin: Plugin<FirewallConf> = {
  parseConfig: parseFirewallConfig,

  async add(args, conf) {
    const plan = planCniFirewall(spec(args, conf));
    if (conf.ingressPolicy === 'isolated') await ensureBridgeFiltering(plan.families.map((f) => f.family), 'ingressPolicy "isolated"');
    await backendFor(conf).install(plan);
    return conf.prevResult!;
  },

  async del(args, conf) {
    await backendFor(conf).teardownContainer({ network: conf.name, containerId: args.containerId, ifname: args.ifname, owner: FIREWALL_OWNER }, { sweepUnrecorded: true });
  },

  async check(args, conf) {
    await backendFor(conf).verify(planCniFirewall(spec(args, conf)));
  },

  async gc(_args, conf) {
    const valid = validAttachments(conf);
    if (valid) await backendFor(conf).gc(conf.name, valid, { owner: FIREWALL_OWNER });
  },
};
