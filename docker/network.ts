// NetworkDriver: networks, endpoints and joins, as libnetwork's remote driver calls them. Each
// handler records what it did in the plugin state and changes the kernel through the Kernel seam;
// teardown works from the record, and tolerates the kernel objects being gone already.
import { parseMac } from '../netlink/index.js';
import { type Connectivity, type EndpointRef, type NetworkRef, type PortBinding, parsePortMap } from './connectivity.js';
import { PluginError } from './errors.js';
import type { Kernel } from './kernel.js';
import { bareAddress, parseNetworkSettings, subnetFor } from './options.js';
import { type CreateEndpointRequest, type CreateNetworkRequest, type ExternalConnectivityRequest, type JoinRequest, type JoinResponse, LABEL } from './protocol.js';
import type { EndpointRecord, NetworkRecord, PluginState, StateStore } from './state.js';

export interface NetworkDeps {
  state: StateStore;
  kernel: Kernel;
  connectivity: Connectivity;
  log(message: string): void;
}

export const capabilities = () => ({ Scope: 'local', ConnectivityScope: 'local' });

const short = (id: string) => id.slice(0, 12);

function networkOf(s: PluginState, id: string): NetworkRecord {
  const net = s.networks[id];
  if (!net) throw new PluginError(`network ${short(id)} is not known to this plugin (its state was lost, or it was created by another driver)`);
  return net;
}

function endpointOf(s: PluginState, networkId: string, id: string): EndpointRecord {
  const ep = s.endpoints[id];
  if (!ep || ep.networkId !== networkId) throw new PluginError(`endpoint ${short(id)} of network ${short(networkId)} is not known to this plugin`);
  return ep;
}

export const networkRef = (net: NetworkRecord): NetworkRef => ({
  networkId: net.id,
  bridge: net.settings.bridge,
  subnets: net.settings.subnets.map((s) => s.subnet),
  ipMasq: net.settings.ipMasq,
  icc: net.settings.icc,
  internal: net.settings.internal,
});

export const endpointRef = (net: NetworkRecord, ep: EndpointRecord): EndpointRef => ({
  networkId: net.id,
  endpointId: ep.id,
  bridge: net.settings.bridge,
  ips: [ep.address, ep.addressV6].filter((a): a is string => !!a),
});

/** The request's port mappings; their bindings name the endpoint's IPv4 address (IPv6 without one). */
const portMapOf = (net: NetworkRecord, ep: EndpointRecord, options: Record<string, unknown>) => {
  const address = ep.address ?? ep.addressV6;
  return parsePortMap(options, address ? bareAddress(address) : undefined, net.settings.hostBindingIP);
};

/** Host ports that other endpoints publish. */
const publishedByOthers = (s: PluginState, ep: EndpointRecord): PortBinding[] =>
  Object.values(s.endpoints)
    .filter((e) => e.id !== ep.id)
    .flatMap((e) => e.ports);

/**
 * The MAC Docker's own bridge driver would give: 02:42 and the IPv4 address, so a container that
 * keeps its address keeps its MAC (neighbours' ARP caches stay right). Random without IPv4.
 */
export function macFor(ipv4Cidr: string | undefined, random: () => Buffer): string {
  const ip = ipv4Cidr ? bareAddress(ipv4Cidr).split('.').map(Number) : undefined;
  const bytes = ip && ip.length === 4 ? [0x02, 0x42, ...ip] : [0x02, ...random().subarray(0, 5)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export async function createNetwork(deps: NetworkDeps, req: CreateNetworkRequest) {
  const settings = parseNetworkSettings(req);
  return deps.state.update(async (s) => {
    const other = Object.values(s.networks).find((n) => n.id !== req.NetworkID && n.settings.bridge === settings.bridge);
    if (other) {
      throw new PluginError(`bridge ${settings.bridge} already belongs to network ${short(other.id)}; choose another com.docker.network.bridge.name`);
    }
    const earlier = s.networks[req.NetworkID];
    const net: NetworkRecord = { id: req.NetworkID, settings, createdBridge: false };
    const { createdBridge, routeLocalnet } = await deps.kernel.setUpNetwork(net);
    net.createdBridge = createdBridge || (earlier?.createdBridge ?? false);
    // A retried create finds the bridge as the first one left it: what was there before is in its record.
    const localnetBefore = earlier ? earlier.userBridgeLocalnet : routeLocalnet;
    if (!net.createdBridge && localnetBefore !== undefined) net.userBridgeLocalnet = localnetBefore;
    try {
      await deps.connectivity.setUpNetwork(networkRef(net));
    } catch (err) {
      // Undo what this request did (a retried create keeps what the first one made).
      if (!earlier) await deps.kernel.tearDownNetwork(net).catch((e: Error) => deps.log(`rollback: ${e.message}`));
      throw err;
    }
    s.networks[net.id] = net;
    deps.log(`network ${short(net.id)}: bridge ${settings.bridge}${createdBridge ? ' (created)' : ''}, ${settings.subnets.map((x) => x.subnet).join(', ') || 'no subnet'}`);
    return {};
  });
}

export async function deleteNetwork(deps: NetworkDeps, networkId: string) {
  return deps.state.update(async (s) => {
    const net = s.networks[networkId];
    if (!net) {
      deps.log(`DeleteNetwork: network ${short(networkId)} is not known (already deleted)`);
      return {};
    }
    // dockerd deletes endpoints first; whatever is left (a crash in between) goes with the network.
    for (const ep of Object.values(s.endpoints).filter((e) => e.networkId === networkId)) {
      await detachEndpoint(deps, s, networkId, ep.id);
      delete s.endpoints[ep.id];
    }
    await deps.connectivity.tearDownNetwork(networkRef(net));
    await deps.kernel.tearDownNetwork(net);
    delete s.networks[networkId];
    return {};
  });
}

export async function createEndpoint(deps: NetworkDeps, req: CreateEndpointRequest, random: () => Buffer) {
  return deps.state.update((s) => {
    const net = networkOf(s, req.NetworkID);
    const { Address, AddressIPv6, MacAddress } = req.Interface;
    for (const [what, address] of [['Address', Address], ['AddressIPv6', AddressIPv6]] as const) {
      if (address && !subnetFor(net.settings.subnets, address)) {
        throw new PluginError(`endpoint ${short(req.EndpointID)}: ${what} ${address} is not in a subnet of network ${short(net.id)}`);
      }
    }
    if (MacAddress) {
      try {
        parseMac(MacAddress);
      } catch {
        throw new PluginError(`endpoint ${short(req.EndpointID)}: invalid MAC address ${JSON.stringify(MacAddress)}`);
      }
    }
    const mac = MacAddress || macFor(Address || undefined, random);
    s.endpoints[req.EndpointID] = {
      id: req.EndpointID,
      networkId: net.id,
      address: Address || undefined,
      addressV6: AddressIPv6 || undefined,
      mac,
      hostVeth: undefined,
      srcName: undefined,
      sandboxKey: undefined,
      ports: [],
    };
    // Only what the driver decided: libnetwork refuses a reply that restates a field it set itself.
    return { Interface: MacAddress ? {} : { MacAddress: mac } };
  });
}

/** Takes a known endpoint out of the data path, its rules first, then its veth; undefined when unknown. */
async function detachEndpoint(deps: NetworkDeps, s: PluginState, networkId: string, endpointId: string): Promise<EndpointRecord | undefined> {
  const ep = s.endpoints[endpointId];
  if (!ep) return undefined;
  await deps.connectivity.tearDownEndpoint({ networkId, endpointId });
  await deps.kernel.detach(ep);
  return ep;
}

export async function deleteEndpoint(deps: NetworkDeps, networkId: string, endpointId: string) {
  return deps.state.update(async (s) => {
    if (await detachEndpoint(deps, s, networkId, endpointId)) delete s.endpoints[endpointId];
    return {};
  });
}

/**
 * Operational data: the published ports under libnetwork's own keys. (dockerd 20.10 reads them back
 * only through a Go type assertion that decoded JSON never satisfies, so `docker port` cannot show a
 * remote driver's mappings; the data is still right for any client that decodes it.)
 */
export async function endpointOperInfo(deps: NetworkDeps, networkId: string, endpointId: string) {
  return deps.state.update((s) => {
    const ep = endpointOf(s, networkId, endpointId);
    if (ep.ports.length === 0) return { Value: {} };
    return { Value: { [LABEL.portMap]: ep.ports, [LABEL.exposedPorts]: ep.ports.map((p) => ({ Proto: p.Proto, Port: p.Port })) } };
  });
}

/** The Join reply: the interface for dockerd to move, and the gateways (none on an --internal network). */
export function joinResponse(net: NetworkRecord, ep: EndpointRecord, srcName: string): JoinResponse {
  const subnets = net.settings.subnets;
  const v4 = ep.address ? subnetFor(subnets, ep.address) : undefined;
  const v6 = ep.addressV6 ? subnetFor(subnets, ep.addressV6) : undefined;
  const out: JoinResponse = { InterfaceName: { SrcName: srcName, DstPrefix: 'eth' }, StaticRoutes: [], DisableGatewayService: false };
  if (!net.settings.internal) {
    if (v4?.gateway) out.Gateway = bareAddress(v4.gateway);
    if (v6?.gateway) out.GatewayIPv6 = bareAddress(v6.gateway);
  }
  return out;
}

export async function join(deps: NetworkDeps, req: JoinRequest) {
  return deps.state.update(async (s) => {
    const net = networkOf(s, req.NetworkID);
    const ep = endpointOf(s, req.NetworkID, req.EndpointID);
    const { hostVeth, srcName } = await deps.kernel.attach(net, ep);
    try {
      await deps.connectivity.setUpEndpoint(networkRef(net), endpointRef(net, ep));
    } catch (err) {
      await deps.kernel.detach(ep).catch((e: Error) => deps.log(`rollback: ${e.message}`));
      throw err;
    }
    ep.hostVeth = hostVeth;
    ep.srcName = srcName;
    ep.sandboxKey = req.SandboxKey || undefined;
    return joinResponse(net, ep, srcName);
  });
}

export async function leave(deps: NetworkDeps, networkId: string, endpointId: string) {
  return deps.state.update(async (s) => {
    const ep = await detachEndpoint(deps, s, networkId, endpointId);
    if (ep) Object.assign(ep, { hostVeth: undefined, srcName: undefined, sandboxKey: undefined, ports: [] });
    return {};
  });
}

export async function programExternalConnectivity(deps: NetworkDeps, req: ExternalConnectivityRequest) {
  return deps.state.update(async (s) => {
    const net = networkOf(s, req.NetworkID);
    const ep = endpointOf(s, req.NetworkID, req.EndpointID);
    const mappings = portMapOf(net, ep, req.Options);
    if (mappings.length === 0) return {};
    if (net.settings.internal) throw new PluginError(`network ${short(net.id)} is internal: ports cannot be published from it`);
    ep.ports = await deps.connectivity.setUpExternal(endpointRef(net, ep), mappings, publishedByOthers(s, ep));
    return {};
  });
}

export async function revokeExternalConnectivity(deps: NetworkDeps, networkId: string, endpointId: string) {
  return deps.state.update(async (s) => {
    const ep = s.endpoints[endpointId];
    if (!ep) return {};
    await deps.connectivity.tearDownExternal({ networkId, endpointId });
    ep.ports = [];
    return {};
  });
}

/**
 * After a restart: every known network's bridge back in place (a reboot, or someone deleting it),
 * firewall rules of endpoints that are gone collected, the others' rules and published ports
 * re-applied where missing, and veths of endpoints that never finished joining removed. A network
 * or endpoint that cannot be restored is reported, not fatal.
 */
export async function restore(deps: NetworkDeps): Promise<void> {
  await deps.state.update(async (s) => {
    for (const ep of Object.values(s.endpoints)) if (!s.networks[ep.networkId]) delete s.endpoints[ep.id];
    const endpoints = Object.values(s.endpoints);
    for (const net of Object.values(s.networks)) {
      const mine = endpoints.filter((e) => e.networkId === net.id);
      try {
        const { createdBridge } = await deps.kernel.setUpNetwork(net);
        if (createdBridge) {
          net.createdBridge = true;
          deps.log(`restore: network ${short(net.id)}: bridge ${net.settings.bridge} re-created`);
        }
        await deps.connectivity.setUpNetwork(networkRef(net));
        await deps.connectivity.collect(networkRef(net), {
          joined: mine.filter((e) => e.hostVeth).map((e) => e.id),
          publishing: mine.filter((e) => e.ports.length > 0).map((e) => e.id),
        });
      } catch (err) {
        deps.log(`restore: network ${short(net.id)}: ${(err as Error).message}`);
        continue;
      }
      for (const ep of mine.filter((e) => e.hostVeth)) {
        try {
          await deps.connectivity.setUpEndpoint(networkRef(net), endpointRef(net, ep));
          if (ep.ports.length > 0) {
            ep.ports = await deps.connectivity.setUpExternal(endpointRef(net, ep), portMapOf(net, ep, { [LABEL.portMap]: ep.ports }), publishedByOthers(s, ep));
          }
        } catch (err) {
          deps.log(`restore: endpoint ${short(ep.id)}: ${(err as Error).message}`);
        }
      }
    }
    const joined = new Set(endpoints.filter((e) => e.hostVeth).map((e) => e.id));
    const removed = await deps.kernel.sweep(new Set(Object.keys(s.networks)), joined).catch((err: Error) => {
      deps.log(`restore: sweeping leftover veths: ${err.message}`);
      return [];
    });
    if (removed.length > 0) deps.log(`restore: removed leftover veths ${removed.join(', ')}`);
  });
}
