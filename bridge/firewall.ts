// The bridge's firewall needs, expressed through nat/: masquerade of the subnet (ipMasq), ports
// published by the bridge itself (when its config declares the portMappings capability), Docker's
// icc=false, --internal and isolation between networks, and FORWARD accepts so a DROP policy (as Docker sets) does not cut the
// containers off. Rules are recorded per attachment, so DEL and GC need no prevResult.
import type { CmdArgs } from '../cni/skel.js';
import type { IPConfig } from '../cni/types.js';
import { firewallBackend, type ContainerSpec } from '../nat/index.js';
import type { BridgeConf } from './config.js';

/** The owner tag of the bridge's rules: a chained portmap or firewall plugin keeps its own. */
export const BRIDGE_OWNER = 'bridge';

const wantsRules = (conf: BridgeConf) => conf.ipMasq || conf.portMappings.length > 0 || !conf.icc || conf.internal || conf.isolateNetworks;

const backend = (conf: BridgeConf) =>
  firewallBackend({ ...(conf.firewallDataDir ? { dataDir: conf.firewallDataDir } : {}), log: (m) => process.stderr.write(`bridge: ${m}\n`) });

function containerSpec(args: CmdArgs, conf: BridgeConf, ips: readonly IPConfig[]): ContainerSpec {
  return {
    network: conf.name,
    containerId: args.containerId,
    ifname: args.ifname,
    owner: BRIDGE_OWNER,
    bridge: conf.bridge,
    ips: ips.map((ip) => ip.address),
    portMappings: conf.portMappings.map((m) => ({ ...m, hostIP: m.hostIP || conf.hostBindingIP || '' })),
    masquerade: conf.ipMasq && !conf.internal,
    forward: 'all',
    icc: conf.icc,
    internal: conf.internal,
    isolateNetworks: conf.isolateNetworks,
  };
}

export async function setUpFirewall(args: CmdArgs, conf: BridgeConf, ips: readonly IPConfig[]): Promise<void> {
  if (!wantsRules(conf) || ips.length === 0) return;
  await backend(conf).setupContainer(containerSpec(args, conf, ips));
}

/** From the record; without one, by the rules' tags when the config asks for rules at all. */
export async function tearDownFirewall(args: CmdArgs, conf: BridgeConf): Promise<void> {
  const ref = { network: conf.name, containerId: args.containerId, ifname: args.ifname, owner: BRIDGE_OWNER };
  await backend(conf).teardownContainer(ref, { sweepUnrecorded: wantsRules(conf) });
}

export async function checkFirewall(args: CmdArgs, conf: BridgeConf, ips: readonly IPConfig[]): Promise<void> {
  if (!wantsRules(conf) || ips.length === 0) return;
  await backend(conf).checkContainer(containerSpec(args, conf, ips));
}

/** Removes the rules of attachments the runtime no longer knows (and of killed ADDs, by their tags). */
export async function collectFirewall(conf: BridgeConf, valid: ReadonlyArray<{ containerID: string; ifname: string }>): Promise<void> {
  await backend(conf).gc(conf.name, valid, { owner: BRIDGE_OWNER });
}
