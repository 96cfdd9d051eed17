// ctnet's NAT and port-publishing layer: what callers (the bridge plugin, the Docker driver) use.
//
//   const fw = firewallBackend({ dataDir, log });
//   await fw.setupContainer({ network, containerId, ifname, owner: 'bridge', bridge, ips, portMappings, masquerade, forward: 'all', icc });
//   await fw.teardownContainer({ network, containerId, ifname, owner: 'bridge' });
//   await fw.gc(network, validAttachments, { owner: 'bridge' });
import type { FirewallBackend } from './backend.js';
import { IptablesBackend, type IptablesBackendOptions } from './iptables-backend.js';

export type { FirewallBackend, NetworkSpec } from './backend.js';
export { DATA_DIR_ENV, DEFAULT_DATA_DIR, IptablesBackend, resolveDataDir, type IptablesBackendOptions } from './iptables-backend.js';
export { hostIpsOverlap, normalizeMapping } from './port-mappings.js';
export type { AttachmentRef, ContainerSpec, ForwardMode, PortMapping, PortMappingInput, Protocol, SnatOptions, ValidAttachment } from './types.js';

/** The firewall backend (iptables; an nftables one will be chosen here). */
export function firewallBackend(opts: IptablesBackendOptions = {}): FirewallBackend {
  return new IptablesBackend(opts);
}
