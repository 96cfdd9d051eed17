// External connectivity: published ports (ProgramExternalConnectivity), masquerade, forwarding
// and the firewall side of icc=false and --internal, all of which belong to ctnet's nat/ layer.
// The driver talks to it through this one seam (nat-connectivity.ts implements it), so it never
// builds a rule itself.
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
export const PROTOCOL_NUMBERS: Record<Protocol, number> = { tcp: 6, udp: 17, sctp: 132 };

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
  /** The endpoint's addresses with their subnet's prefix ("10.1.2.5/24"). */
  ips: string[];
}

/** What teardown needs: it works from nat/'s records, by identity alone. */
export type EndpointId = Pick<EndpointRef, 'networkId' | 'endpointId'>;

export interface NetworkRef {
  networkId: string;
  bridge: string;
  subnets: string[];
  ipMasq: boolean;
  icc: boolean;
  internal: boolean;
}

export interface Connectivity {
  /** What a network needs before its first endpoint (shared chains, route_localnet on the bridge). Idempotent. */
  setUpNetwork(network: NetworkRef): Promise<void>;
  /** Removes the rules and port reservations of every endpoint of the network. */
  tearDownNetwork(network: NetworkRef): Promise<void>;
  /**
   * A joined endpoint's own rules: masquerade, FORWARD accepts (dockerd's iptables mode sets the
   * policy to DROP, which with br_netfilter also drops traffic between the bridge's own ports),
   * icc=false and --internal isolation, isolation from other networks. Idempotent: rules already in
   * place are left alone (a restart does not interrupt traffic).
   */
  setUpEndpoint(network: NetworkRef, endpoint: EndpointRef): Promise<void>;
  /** Removes everything of the endpoint: its own rules and its published ports; fine when nothing is there. */
  tearDownEndpoint(endpoint: EndpointId): Promise<void>;
  /**
   * Publishes the ports; resolves with the bindings as made (host ports chosen where 0 or a
   * range). `published` are the other endpoints' bindings, whose host ports are not free. Idempotent.
   */
  setUpExternal(endpoint: EndpointRef, mappings: readonly PortMapping[], published: readonly PortBinding[]): Promise<PortBinding[]>;
  /** Removes what setUpExternal made for the endpoint; fine when nothing is there. */
  tearDownExternal(endpoint: EndpointId): Promise<void>;
  /**
   * After a restart: removes the rules and reservations of the network's endpoints that are not
   * `joined` (their own rules) or not `publishing` (their published ports), by endpoint id.
   */
  collect(network: NetworkRef, live: { joined: readonly string[]; publishing: readonly string[] }): Promise<void>;
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
