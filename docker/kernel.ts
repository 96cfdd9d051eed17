// What the network driver changes in the plugin's (host) namespace, through bridge/ and netlink/:
// a bridge per network with its gateway addresses and forwarding, and a veth pair per joined
// endpoint. The driver reaches it through the Kernel interface, so request handling is testable
// without a namespace.
import { parseBridgeConfig, type BridgeConf } from '../bridge/config.js';
import { enableForwarding, ensureGatewayAddress, setUpBridge } from '../bridge/host-side.js';
import { attachmentAlias, hostVethName, parseAttachmentAlias } from '../bridge/names.js';
import { Rollback } from '../cni/rollback.js';
import {
  createVeth,
  deleteAddress,
  deleteLink,
  getLink,
  listLinks,
  listRoutes,
  originalNetNs,
  readSysctl,
  requireLink,
  setBridgePort,
  setLink,
  withRtnl,
  writeSysctl,
  type Rtnl,
} from '../netlink/index.js';
import { PluginError } from './errors.js';
import type { EndpointRecord, NetworkRecord } from './state.js';

export interface Attachment {
  hostVeth: string;
  /** The end dockerd moves into the sandbox, by its name in the host namespace. */
  srcName: string;
}

export interface Kernel {
  /**
   * Creates (or restores) the network's bridge, gateway addresses and forwarding. On a bridge that
   * was there already, also says what its route_localnet was before the network turns it on.
   */
  setUpNetwork(net: NetworkRecord): Promise<{ createdBridge: boolean; routeLocalnet?: string }>;
  /** Deletes the bridge if the plugin created it, else takes off its gateway addresses and puts its route_localnet back. */
  tearDownNetwork(net: NetworkRecord): Promise<void>;
  attach(net: NetworkRecord, ep: EndpointRecord): Promise<Attachment>;
  /** Deletes the endpoint's veth pair; fine when already gone. */
  detach(ep: EndpointRecord): Promise<void>;
  hostRoutes(family: 4 | 6): Promise<string[]>;
  /** Deletes veths labelled for a known network whose endpoint is not joined (a crash's leftovers); returns their names. */
  sweep(networks: ReadonlySet<string>, joined: ReadonlySet<string>): Promise<string[]>;
}

/** The veth names of an endpoint, derived from its id, so a retry or a restart finds them. */
export const vethNames = (endpointId: string): Attachment => ({
  hostVeth: hostVethName(endpointId, 'host'),
  srcName: hostVethName(endpointId, 'sandbox'),
});

/** The interface label ("ctnet:<network>:<endpoint>:docker") that sweep() reads back. */
export const dockerAlias = (networkId: string, endpointId: string): string => attachmentAlias(networkId, endpointId, 'docker');

const NO_ARGS = { command: 'ADD' as const, containerId: '', netns: '', ifname: '', args: new Map<string, string>(), path: [] };

/** The network as the bridge plugin's config, so bridge/ validates and applies it as it does its own. */
export function bridgeConfOf(net: NetworkRecord): BridgeConf {
  const s = net.settings;
  return parseBridgeConfig(
    {
      cniVersion: '1.1.0',
      name: `docker-${net.id.slice(0, 12)}`,
      type: 'bridge',
      bridge: s.bridge,
      isGateway: s.subnets.some((x) => x.gateway),
      mtu: s.mtu ?? 0,
      icc: s.icc,
      internal: s.internal,
      ipMasq: s.ipMasq && !s.internal,
      ...(s.hostBindingIP ? { hostBindingIP: s.hostBindingIP } : {}),
    },
    NO_ARGS,
  );
}

async function deleteVeth(rtnl: Rtnl, name: string): Promise<void> {
  const link = await getLink(rtnl, name);
  if (link?.kind === 'veth') await deleteLink(rtnl, link.index, { ignoreMissing: true });
}

/** nat/ turns it on for published ports to answer on 127.0.0.1 through the bridge. */
const localnetKey = (bridge: string) => `net/ipv4/conf/${bridge}/route_localnet`;

export function netlinkKernel(): Kernel {
  const ns = originalNetNs();
  return {
    async setUpNetwork(net) {
      const conf = bridgeConfOf(net);
      return withRtnl(ns, async (rtnl) => {
        const before = await getLink(rtnl, conf.bridge);
        const rollback = new Rollback();
        try {
          const bridge = await setUpBridge(rtnl, conf);
          if (!before) rollback.add(`bridge ${conf.bridge}`, () => deleteLink(rtnl, bridge.index, { ignoreMissing: true }));
          for (const s of net.settings.subnets) {
            if (s.gateway) await ensureGatewayAddress(rtnl, bridge, s.gateway, false);
          }
          await enableForwarding(rtnl, new Set(net.settings.subnets.map((s) => (s.subnet.includes(':') ? 6 : 4) as 4 | 6)));
          return before ? { createdBridge: false, routeLocalnet: readSysctl(localnetKey(conf.bridge)) } : { createdBridge: true };
        } catch (err) {
          await rollback.run();
          throw err;
        }
      });
    },

    async tearDownNetwork(net) {
      await withRtnl(ns, async (rtnl) => {
        const bridge = await getLink(rtnl, net.settings.bridge);
        if (bridge?.kind !== 'bridge') return;
        if (net.createdBridge) {
          await deleteLink(rtnl, bridge.index, { ignoreMissing: true });
          return;
        }
        // A bridge the user made stays; only what the network put on it goes.
        for (const s of net.settings.subnets) {
          if (s.gateway) await deleteAddress(rtnl, bridge.index, s.gateway, { ignoreMissing: true });
        }
        if (net.userBridgeLocalnet !== undefined) writeSysctl(localnetKey(bridge.name), net.userBridgeLocalnet);
      });
    },

    async attach(net, ep) {
      const names = vethNames(ep.id);
      const mtu = net.settings.mtu;
      return withRtnl(ns, async (rtnl) => {
        const bridge = await requireLink(rtnl, net.settings.bridge, `find the bridge of network ${net.id.slice(0, 12)}`).catch(() => {
          throw new PluginError(`the bridge ${net.settings.bridge} of network ${net.id.slice(0, 12)} is gone; restart the plugin to re-create it`);
        });
        // An earlier Join of this endpoint that died half-way.
        await deleteVeth(rtnl, names.hostVeth);
        await deleteVeth(rtnl, names.srcName);
        await createVeth(rtnl, {
          name: names.hostVeth,
          up: true,
          ...(mtu ? { mtu } : {}),
          peer: { name: names.srcName, ns, ...(mtu ? { mtu } : {}), ...(ep.mac ? { mac: ep.mac } : {}) },
        });
        try {
          await setLink(rtnl, names.hostVeth, { master: bridge.index, alias: dockerAlias(net.id, ep.id) });
          // enable_icc=false: isolated ports forward only to the bridge itself, never to each other.
          if (!net.settings.icc) await setBridgePort(rtnl, names.hostVeth, { isolated: true });
        } catch (err) {
          await deleteLink(rtnl, names.hostVeth, { ignoreMissing: true });
          throw err;
        }
        return names;
      });
    },

    async detach(ep) {
      const names = vethNames(ep.id);
      await withRtnl(ns, async (rtnl) => {
        // Deleting one end takes the other with it; the sandbox end is back here once dockerd has left.
        await deleteVeth(rtnl, ep.hostVeth ?? names.hostVeth);
        await deleteVeth(rtnl, ep.srcName ?? names.srcName);
      });
    },

    async hostRoutes(family) {
      return withRtnl(ns, async (rtnl) => (await listRoutes(rtnl, { family })).map((r) => r.dst));
    },

    async sweep(networks, joined) {
      return withRtnl(ns, async (rtnl) => {
        const removed: string[] = [];
        for (const link of await listLinks(rtnl)) {
          const a = link.kind === 'veth' ? parseAttachmentAlias(link.alias) : undefined;
          if (!a || a.ifname !== 'docker' || !networks.has(a.network) || joined.has(a.containerId)) continue;
          await deleteLink(rtnl, link.index, { ignoreMissing: true });
          removed.push(link.name);
        }
        return removed;
      });
    },
  };
}
