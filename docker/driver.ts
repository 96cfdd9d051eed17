// The plugin's methods by name, as dockerd POSTs them ("/NetworkDriver.Join"): each parses its body
// and hands it to the network or IPAM side. Transport-free, so tests call it directly.
import { randomBytes } from 'node:crypto';
import type { Connectivity } from './connectivity.js';
import { PluginError } from './errors.js';
import * as ipam from './ipam.js';
import type { Kernel } from './kernel.js';
import * as network from './network.js';
import { parseRequest, schemas } from './protocol.js';
import type { StateStore } from './state.js';

export interface DriverDeps {
  state: StateStore;
  kernel: Kernel;
  connectivity: Connectivity;
  log(message: string): void;
  /** Random bytes (MACs of endpoints without IPv4); injectable for tests. */
  random?: (n: number) => Buffer;
}

export type Handler = (body: unknown) => Promise<unknown>;

export function createDriver(deps: DriverDeps): Record<string, Handler> {
  const random = () => (deps.random ?? randomBytes)(6);
  const ipamDeps: ipam.IpamDeps = { state: deps.state, hostRoutes: (f) => deps.kernel.hostRoutes(f), log: deps.log };
  const nd: network.NetworkDeps = deps;
  const parse = <K extends keyof typeof schemas>(method: string, key: K, body: unknown) => parseRequest(method, schemas[key], body);
  const empty = async () => ({});

  return {
    'Plugin.Activate': async () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),

    'NetworkDriver.GetCapabilities': async () => network.capabilities(),
    'NetworkDriver.CreateNetwork': (b) => network.createNetwork(nd, parse('CreateNetwork', 'CreateNetwork', b)),
    'NetworkDriver.DeleteNetwork': (b) => network.deleteNetwork(nd, parse('DeleteNetwork', 'DeleteNetwork', b).NetworkID),
    'NetworkDriver.CreateEndpoint': (b) => network.createEndpoint(nd, parse('CreateEndpoint', 'CreateEndpoint', b), random),
    'NetworkDriver.EndpointOperInfo': (b) => {
      const r = parse('EndpointOperInfo', 'Endpoint', b);
      return network.endpointOperInfo(nd, r.NetworkID, r.EndpointID);
    },
    'NetworkDriver.DeleteEndpoint': (b) => {
      const r = parse('DeleteEndpoint', 'Endpoint', b);
      return network.deleteEndpoint(nd, r.NetworkID, r.EndpointID);
    },
    'NetworkDriver.Join': (b) => network.join(nd, parse('Join', 'Join', b)),
    'NetworkDriver.Leave': (b) => {
      const r = parse('Leave', 'Endpoint', b);
      return network.leave(nd, r.NetworkID, r.EndpointID);
    },
    'NetworkDriver.ProgramExternalConnectivity': (b) => network.programExternalConnectivity(nd, parse('ProgramExternalConnectivity', 'ExternalConnectivity', b)),
    'NetworkDriver.RevokeExternalConnectivity': (b) => {
      const r = parse('RevokeExternalConnectivity', 'Endpoint', b);
      return network.revokeExternalConnectivity(nd, r.NetworkID, r.EndpointID);
    },
    // Node discovery matters to multi-host drivers only.
    'NetworkDriver.DiscoverNew': empty,
    'NetworkDriver.DiscoverDelete': empty,

    'IpamDriver.GetCapabilities': async () => ipam.capabilities(),
    'IpamDriver.GetDefaultAddressSpaces': async () => ipam.defaultAddressSpaces(),
    'IpamDriver.RequestPool': (b) => ipam.requestPool(ipamDeps, parse('RequestPool', 'RequestPool', b)),
    'IpamDriver.ReleasePool': (b) => ipam.releasePool(ipamDeps, parse('ReleasePool', 'ReleasePool', b).PoolID),
    'IpamDriver.RequestAddress': (b) => ipam.requestAddress(ipamDeps, parse('RequestAddress', 'RequestAddress', b)),
    'IpamDriver.ReleaseAddress': (b) => ipam.releaseAddress(ipamDeps, parse('ReleaseAddress', 'ReleaseAddress', b)),
  };
}

/** Runs a method by name; an unknown one is a 404, which dockerd reads as "not implemented". */
export async function dispatch(driver: Record<string, Handler>, method: string, body: unknown): Promise<unknown> {
  const handler = Object.hasOwn(driver, method) ? driver[method] : undefined;
  if (!handler) throw new PluginError(`${method} is not implemented by the ctnet plugin`, 404);
  return handler(body);
}
