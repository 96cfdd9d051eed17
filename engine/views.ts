// What `inspect`, `ls`, `ps` and `port` show, in Docker's shapes and wording. Pure: built from the
// network documents, container records and liveness the engine reads.
import { createHash } from 'node:crypto';
import type { ContainerRecord, PublishedPort } from './container-store.js';
import type { ContainerView, NetworkView } from './engine.js';
import { shortId } from './container-store.js';

const endpointId = (containerId: string, network: string) => createHash('sha256').update(`${containerId}/${network}`).digest('hex');
const isV6 = (cidr: string) => cidr.includes(':');

/** `network inspect`: Docker's JSON for one network. */
export function inspectNetwork(n: NetworkView, containers: readonly ContainerRecord[]): Record<string, unknown> {
  const meta = n.doc?.ctnet;
  const members: Record<string, unknown> = {};
  for (const c of containers) {
    const att = c.attachments.find((a) => a.network === n.name);
    const inMode = (n.name === 'host' && c.mode.kind === 'host') || (n.name === 'none' && c.mode.kind === 'none');
    if (!att && !inMode) continue;
    members[c.id] = {
      Name: c.name,
      EndpointID: endpointId(c.id, n.name),
      MacAddress: att?.mac ?? '',
      IPv4Address: att?.addresses.find((a) => !isV6(a)) ?? '',
      IPv6Address: att?.addresses.find(isV6) ?? '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: meta?.created ?? '0001-01-01T00:00:00Z',
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: meta?.ipv6 ?? false,
    IPAM: {
      Driver: 'default',
      Options: null,
      Config: (meta?.ipam ?? []).map((c) => ({ Subnet: c.subnet, Gateway: c.gateway, ...(c.ipRange ? { IPRange: c.ipRange } : {}) })),
    },
    Internal: meta?.internal ?? false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: members,
    Options: meta?.options ?? {},
    Labels: meta?.labels ?? {},
  };
}

/** `network ls` rows. */
export const networkRows = (networks: readonly NetworkView[]): string[][] => [
  ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
  ...networks.map((n) => [n.id.slice(0, 12), n.name, n.driver, 'local']),
];

const portKey = (p: Pick<PublishedPort, 'containerPort' | 'protocol'>) => `${p.containerPort}/${p.protocol}`;

/** The host addresses a port is bound on, as Docker reports them: no address means every IPv4 and IPv6 address. */
function bindings(p: PublishedPort, ipv6: boolean): string[] {
  if (p.hostIP) return [p.hostIP];
  return ipv6 ? ['0.0.0.0', '::'] : ['0.0.0.0'];
}

const hostPortText = (ip: string, port: number) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
const hasIpv6 = (c: ContainerRecord) => c.attachments.some((a) => a.addresses.some(isV6));

/** `ctnet port NAME [PORT[/PROTO]]` lines, Docker's format. Throws Docker's error when the filter matches nothing. */
export function portLines(c: ContainerRecord, filter?: string): string[] {
  if (filter !== undefined) {
    const [port, proto = 'tcp'] = filter.split('/');
    const key = `${Number(port)}/${proto.toLowerCase()}`;
    const lines = c.ports.filter((p) => portKey(p) === key).flatMap((p) => bindings(p, hasIpv6(c)).map((ip) => hostPortText(ip, p.hostPort)));
    if (!lines.length) throw new Error(`No public port '${key}' published for ${c.name}`);
    return lines;
  }
  return c.ports.flatMap((p) => bindings(p, hasIpv6(c)).map((ip) => `${portKey(p)} -> ${hostPortText(ip, p.hostPort)}`));
}

function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}`;
  return `${Math.round(h / 24)} days`;
}

export const containerStatus = (v: ContainerView): 'running' | 'exited' | 'created' => (v.running ? 'running' : v.record.pid ? 'exited' : 'created');

const modeName = (c: ContainerRecord): string => (c.mode.kind === 'container' ? `container:${c.mode.id}` : c.mode.kind === 'bridge' ? (c.attachments[0]?.network ?? 'bridge') : c.mode.kind);

/** `ps` rows (Docker's columns, with NETWORKS instead of IMAGE). */
export function psRows(views: readonly ContainerView[], now = Date.now()): string[][] {
  return [
    ['CONTAINER ID', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NETWORKS', 'NAMES'],
    ...views.map((v) => {
      const c = v.record;
      const command = JSON.stringify(c.command.join(' ').slice(0, 20) + (c.command.join(' ').length > 20 ? '…' : ''));
      const ports = c.ports.flatMap((p) => bindings(p, hasIpv6(c)).map((ip) => `${hostPortText(ip, p.hostPort)}->${portKey(p)}`)).join(', ');
      return [shortId(c.id), command, `${humanDuration(now - Date.parse(c.created))} ago`, statusText(v), ports, c.attachments.map((a) => a.network).join(',') || modeName(c), c.name];
    }),
  ];
}

/** Docker's STATUS column: "Up", "Exited (7)", "Created". */
function statusText(v: ContainerView): string {
  const status = containerStatus(v);
  if (status === 'running') return 'Up';
  if (status === 'exited') return `Exited${v.record.exitCode === undefined ? '' : ` (${v.record.exitCode})`}`;
  return 'Created';
}

/** `ps --format json`: one object per container. */
export const psJson = (views: readonly ContainerView[]) =>
  views.map((v) => ({
    ID: shortId(v.record.id),
    Names: v.record.name,
    Command: v.record.command.join(' '),
    CreatedAt: v.record.created,
    State: containerStatus(v),
    Status: statusText(v),
    Ports: portLines(v.record),
    Networks: v.record.attachments.map((a) => a.network).join(',') || modeName(v.record),
  }));

/** `inspect`: Docker's JSON for one container (the fields ctnet has). */
export function inspectContainer(v: ContainerView, networkIds: ReadonlyMap<string, string> = new Map()): Record<string, unknown> {
  const c = v.record;
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of c.ports) (ports[portKey(p)] ??= []).push(...bindings(p, hasIpv6(c)).map((ip) => ({ HostIp: ip, HostPort: String(p.hostPort) })));
  const networks: Record<string, unknown> = {};
  for (const a of c.attachments) {
    const v4 = a.addresses.find((x) => !isV6(x));
    const v6 = a.addresses.find(isV6);
    networks[a.network] = {
      Aliases: a.aliases,
      NetworkID: a.networkId,
      EndpointID: endpointId(c.id, a.network),
      Gateway: a.gateways.find((g) => !g.includes(':')) ?? '',
      IPAddress: v4?.split('/')[0] ?? '',
      IPPrefixLen: v4 ? Number(v4.split('/')[1]) : 0,
      IPv6Gateway: a.gateways.find((g) => g.includes(':')) ?? '',
      GlobalIPv6Address: v6?.split('/')[0] ?? '',
      GlobalIPv6PrefixLen: v6 ? Number(v6.split('/')[1]) : 0,
      MacAddress: a.mac ?? '',
      Interface: a.ifname,
    };
  }
  if (c.mode.kind === 'host' || c.mode.kind === 'none') networks[c.mode.kind] = { NetworkID: networkIds.get(c.mode.kind) ?? '' };
  const status = containerStatus(v);
  return {
    Id: c.id,
    Created: c.created,
    Path: c.command[0],
    Args: c.command.slice(1),
    State: { Status: status, Running: v.running, Pid: v.running ? c.pid : 0, ...(c.exitCode === undefined ? {} : { ExitCode: c.exitCode }) },
    Name: `/${c.name}`,
    Config: { Hostname: c.hostname, Cmd: c.command },
    HostConfig: {
      NetworkMode: modeName(c),
      PortBindings: Object.fromEntries(c.ports.map((p) => [portKey(p), [{ HostIp: p.hostIP, HostPort: String(p.hostPort) }]])),
      Dns: c.dns.servers,
      DnsSearch: c.dns.search,
      DnsOptions: c.dns.options,
      ExtraHosts: c.extraHosts.map((h) => `${h.name}:${h.address}`),
    },
    NetworkSettings: { SandboxKey: c.netns ?? '', Ports: ports, Networks: networks },
  };
}
