// External connectivity: published ports (ProgramExternalConnectivity), masquerade, and the
// firewall side of --internal, all of which belong to ctnet's nat/ layer. The driver talks to it
// through this one seam, so it never builds a rule itself.
//
// nat/ is not part of this build yet: `natUnavailable` says so clearly whenever a port is to be
// published (no silent success), and warns once per network whose masquerade cannot be applied.
import { PluginError } from './errors.js';
import { LABEL } from './protocol.js';

/** libnetwork's types.PortBinding as it travels in JSON (Proto: 6 tcp, 17 udp, 132 sctp). */
export interface PortBinding {
  Proto: number;
  /** The container address. */
  IP: string;
  Port: number;
  /** "" or "0.0.0.0": every host address. */
  HostIP: string;
  /** 0: any free port. */
  HostPort: number;
  /** The end of a host port range (-p 8080-8090:80), 0 when not a range. */
  HostPortEnd: number;
}

export type Protocol = 'tcp' | 'udp' | 'sctp';
const PROTOCOLS: Record<number, Protocol> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

export interface PortMapping {
  protocol: Protocol;
  containerIp: string;
  containerPort: number;
  /** '' for every address of the family. */
  hostIp: string;
  /** First and last acceptable host port; both 0 for "any free port". */
  hostPort: number;
  hostPortEnd: number;
}

export interface EndpointRef {
  networkId: string;
  endpointId: string;
  /** The bridge the endpoint's veth is attached to. */
  bridge: string;
  /** Container addresses without prefix. */
  address: string | undefined;
  addressV6: string | undefined;
}

export interface NetworkRef {
  networkId: string;
  bridge: string;
  subnets: string[];
  ipMasq: boolean;
  icc: boolean;
  internal: boolean;
}

export interface Connectivity {
  /**
   * Network-wide rules: masquerade of its subnets, --internal isolation, and accepting forwarded
   * traffic of the bridge (dockerd's iptables mode sets the FORWARD policy to DROP, which with
   * br_netfilter also drops traffic between the bridge's own ports). Idempotent (run again on restart).
   */
  setUpNetwork(network: NetworkRef): Promise<void>;
  tearDownNetwork(network: NetworkRef): Promise<void>;
  /** Publishes the ports; resolves with the bindings as made (host ports chosen where 0). Idempotent. */
  setUpExternal(endpoint: EndpointRef, mappings: readonly PortMapping[]): Promise<PortBinding[]>;
  /** Removes everything setUpExternal made for the endpoint; tolerates nothing being there. */
  tearDownExternal(endpoint: EndpointRef): Promise<void>;
}

function port(value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
    throw new PluginError(`${LABEL.portMap}: ${what} ${JSON.stringify(value)} is not a port number`);
  }
  return value as number;
}

/**
 * The port mappings of a ProgramExternalConnectivity (or CreateEndpoint) request's options; the
 * container address comes from the endpoint when the binding carries none. `defaultHostIp` is the
 * network's host_binding_ipv4.
 */
export function parsePortMap(options: Record<string, unknown>, containerIp: string | undefined, defaultHostIp = ''): PortMapping[] {
  const raw = options[LABEL.portMap];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new PluginError(`${LABEL.portMap} must be a list of port bindings`);
  return raw.map((b: unknown, i: number) => {
    if (!b || typeof b !== 'object') throw new PluginError(`${LABEL.portMap}[${i}] is not a port binding`);
    const r = b as Record<string, unknown>;
    const protocol = PROTOCOLS[r.Proto as number];
    if (!protocol) throw new PluginError(`${LABEL.portMap}[${i}]: unsupported protocol ${JSON.stringify(r.Proto)} (6 tcp, 17 udp, 132 sctp)`);
    const containerPort = port(r.Port, 'container port');
    if (containerPort === 0) throw new PluginError(`${LABEL.portMap}[${i}]: the container port is missing`);
    const hostPort = port(r.HostPort ?? 0, 'host port');
    const hostPortEnd = port(r.HostPortEnd ?? 0, 'host port range end');
    if (hostPortEnd !== 0 && hostPortEnd < hostPort) throw new PluginError(`${LABEL.portMap}[${i}]: host port range ${hostPort}-${hostPortEnd} is reversed`);
    const ip = typeof r.IP === 'string' && r.IP !== '' ? r.IP : containerIp;
    if (!ip) throw new PluginError(`${LABEL.portMap}[${i}]: the endpoint has no address to publish port ${containerPort} of`);
    const hostIp = typeof r.HostIP === 'string' && r.HostIP !== '' ? r.HostIP : defaultHostIp;
    return { protocol, containerIp: ip, containerPort, hostIp, hostPort, hostPortEnd: hostPortEnd || hostPort };
  });
}

/** The connectivity of a build without nat/: nothing to publish with, said plainly. */
export function natUnavailable(warn: (message: string) => void): Connectivity {
  return {
    async setUpNetwork(network) {
      if (network.ipMasq && !network.internal) {
        warn(`network ${network.networkId.slice(0, 12)}: masquerade is not applied (ctnet's nat/ layer is not available in this build): containers reach the host and each other, not beyond`);
      }
    },
    async tearDownNetwork() {},
    async setUpExternal(endpoint, mappings) {
      if (mappings.length === 0) return [];
      const what = mappings.map((m) => `${m.hostIp ? `${m.hostIp}:` : ''}${m.hostPort || ''}:${m.containerPort}/${m.protocol}`).join(', ');
      throw new PluginError(
        `cannot publish ports (${what}) of endpoint ${endpoint.endpointId.slice(0, 12)}: ctnet's nat/ layer, which publishes ports, is not available in this build`,
      );
    },
    async tearDownExternal() {},
  };
}
