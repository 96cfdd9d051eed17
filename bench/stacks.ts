// The plugin stacks the bench compares, each giving a container the same thing: an address on a
// bridge, masquerade, one published port and FORWARD accepts. All are run by engine/'s CNI runtime,
// as a container engine would run them.
import { parseConfList, type NetworkConfigList } from '../engine/conflist.js';

export type StackKey = 'reference' | 'ctnet' | 'dropin' | 'served';

export interface Stack {
  key: StackKey;
  label: string;
  /** CNI_PATH. */
  binDir: string;
  list(bridge: string, dataDir: string): NetworkConfigList;
  /** A `ctnet plugin-server` runs in the stack's host namespace: its plugin runs go to warm workers. */
  server?: true;
}

/** Big enough for the fillers, the samples and the concurrent batch. */
const SUBNET = '10.99.0.0/16';
export const GATEWAY = '10.99.0.1';

const bridgeConf = (bridge: string, dataDir: string) => ({
  type: 'bridge',
  bridge,
  isGateway: true,
  ipMasq: true,
  hairpinMode: true,
  ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]] },
});

/** The reference plugins' way: bridge + host-local, then portmap and firewall chained. */
const chain = (bridge: string, dataDir: string) =>
  parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'benchnet',
      plugins: [bridgeConf(bridge, dataDir), { type: 'portmap', capabilities: { portMappings: true }, snat: true }, { type: 'firewall' }],
    }),
  );

export function stacks(ctnetBin: string, referenceBin: string): Stack[] {
  return [
    { key: 'reference', label: 'reference chain', binDir: referenceBin, list: chain },
    {
      key: 'ctnet',
      label: 'ctnet recommended',
      binDir: ctnetBin,
      // One process: IPAM in-process, the ports through the bridge's portMappings capability, and
      // the bridge's own FORWARD accepts (what the firewall plugin adds to the reference chain).
      list: (bridge, dataDir) =>
        parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'benchnet', plugins: [{ ...bridgeConf(bridge, dataDir), capabilities: { portMappings: true } }] })),
    },
    { key: 'dropin', label: 'ctnet drop-in chain', binDir: ctnetBin, list: chain },
    { key: 'served', label: 'ctnet drop-in chain, plugin server', binDir: ctnetBin, list: chain, server: true },
  ];
}
