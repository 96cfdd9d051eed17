// Fixtures for the NAT integration tests (integration/nat-*, portmap*, firewall*): a sandbox host
// namespace with a bridge and containers wired by plain `ip` commands (the bridge plugin is not
// involved), a client namespace beside the host, servers, probes, and ruleset snapshots.
import type { ExecutionContext } from 'ava';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Result } from '../cni/types.js';
import { repoRoot, Sandbox, type Container, type PluginOutput, type PluginRun } from '../integration/sandbox.js';
import type { PortClaim } from './port-mappings.js';
import type { PortMappingInput } from './types.js';

export const BRIDGE = 'br-t';
/** The host's bridge addresses (the containers' gateway). */
export const GW4 = '10.88.0.1';
export const GW6 = 'fd88::1';
/** The host's address on the client link: "the host's own address" as another machine sees it. */
export const HOST4 = '10.77.0.1';
export const HOST6 = 'fd77::1';
export const CLIENT4 = '10.77.0.2';

export interface Topology {
  sb: Sandbox;
  /** The client namespace: another machine, routed to the host. */
  client: Container;
  /** The ctnet NAT data dir of this sandbox (records and port reservations): its state dir. */
  dataDir: string;
  v6: boolean;
}

export interface Ctr {
  ns: Container;
  id: string;
  n: number;
  ip4: string;
  ip6?: string;
  hostVeth: string;
  prevResult: Result;
}

const ip = (topo: Topology, args: string[], ns = topo.sb.hostPath) => topo.sb.exec('ip', args, ns);

/**
 * Waits until the kernel reports each link up: only then does a veth end transmit (its queue is
 * activated in the same step), and on a busy machine that step waits for the RTNL lock, seconds at
 * times, where a test would take the dropped first packets for a blocked path.
 */
async function waitUp(topo: Topology, links: ReadonlyArray<[dev: string, ns: string]>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const [dev, ns] of links) {
    for (;;) {
      const [link] = JSON.parse((await ip(topo, ['-j', 'link', 'show', 'dev', dev], ns)).stdout) as Array<{ operstate?: string }>;
      if (link?.operstate === 'UP') break;
      if (Date.now() > deadline) throw new Error(`${dev} in ${ns} is still ${link?.operstate ?? 'missing'} after 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Host namespace with bridge br-t (10.88.0.1/24, fd88::1/64), forwarding on, and a client namespace on 10.77.0.0/30. */
export async function topology(t: ExecutionContext, opts: { v6?: boolean } = {}): Promise<Topology> {
  const sb = await Sandbox.create(t);
  const client = await sb.container('cl');
  const topo: Topology = { sb, client, dataDir: sb.stateDir, v6: opts.v6 ?? false };
  await ip(topo, ['link', 'add', BRIDGE, 'type', 'bridge']);
  await ip(topo, ['addr', 'add', `${GW4}/24`, 'dev', BRIDGE]);
  await ip(topo, ['link', 'add', 'vcl', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.path]);
  await ip(topo, ['addr', 'add', `${HOST4}/30`, 'dev', 'vcl']);
  await ip(topo, ['addr', 'add', `${CLIENT4}/30`, 'dev', 'eth0'], client.path);
  if (topo.v6) {
    await sb.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    await ip(topo, ['addr', 'add', `${GW6}/64`, 'dev', BRIDGE, 'nodad']);
    await ip(topo, ['addr', 'add', `${HOST6}/64`, 'dev', 'vcl', 'nodad']);
    await ip(topo, ['addr', 'add', 'fd77::2/64', 'dev', 'eth0', 'nodad'], client.path);
  }
  for (const dev of [BRIDGE, 'vcl']) await ip(topo, ['link', 'set', dev, 'up']);
  for (const dev of ['lo', 'eth0']) await ip(topo, ['link', 'set', dev, 'up'], client.path);
  await ip(topo, ['route', 'add', 'default', 'via', HOST4], client.path);
  if (topo.v6) await ip(topo, ['-6', 'route', 'add', 'default', 'via', HOST6], client.path);
  await sb.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await waitUp(topo, [['vcl', sb.hostPath], ['eth0', client.path]]);
  return topo;
}

/** Container n: veth vc<n> on the bridge, eth0 with 10.88.0.<n+1>/24 (and fd88::<n+1>/64), default routes via the bridge. */
export async function addContainer(topo: Topology, n: number, bridge = BRIDGE, subnet = '10.88.0'): Promise<Ctr> {
  const ns = await topo.sb.container(`c${n}`);
  const hostVeth = `vc${n}`;
  const ip4 = `${subnet}.${n + 1}`;
  const ip6 = topo.v6 ? `fd88::${(n + 1).toString(16)}` : undefined;
  await ip(topo, ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.path]);
  await ip(topo, ['link', 'set', hostVeth, 'master', bridge, 'up']);
  await ip(topo, ['link', 'set', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
  await ip(topo, ['addr', 'add', `${ip4}/24`, 'dev', 'eth0'], ns.path);
  if (ip6) await ip(topo, ['addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad'], ns.path);
  for (const dev of ['lo', 'eth0']) await ip(topo, ['link', 'set', dev, 'up'], ns.path);
  await ip(topo, ['route', 'add', 'default', 'via', `${subnet}.1`], ns.path);
  if (ip6) await ip(topo, ['-6', 'route', 'add', 'default', 'via', GW6], ns.path);
  await waitUp(topo, [[hostVeth, topo.sb.hostPath], ['eth0', ns.path]]);
  const prevResult: Result = {
    cniVersion: '1.0.0',
    interfaces: [{ name: bridge }, { name: hostVeth }, { name: 'eth0', sandbox: ns.path }],
    ips: [
      { address: `${ip4}/24`, gateway: `${subnet}.1`, interface: 2 },
      ...(ip6 ? [{ address: `${ip6}/64`, gateway: GW6, interface: 2 }] : []),
    ],
  };
  return { ns, id: `ctr${n}`, n, ip4, ...(ip6 ? { ip6 } : {}), hostVeth, prevResult };
}

/** A portmap network config for the container (a chained plugin's view: prevResult and the capability). */
export function portmapConfig(ctr: Pick<Ctr, 'prevResult'>, portMappings: PortMappingInput[], extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.0.0', name: 'n1', type: 'portmap', runtimeConfig: { portMappings }, prevResult: ctr.prevResult, ...extra };
}

/** Runs a chained plugin in the host namespace (with the sandbox's state dir as its data dir). */
export function runPlugin(topo: Topology, type: string, run: PluginRun): Promise<PluginOutput> {
  return topo.sb.plugin(type, run);
}

/** A server in the container answering every TCP connection (or UDP datagram) with `reply`, on both families. */
export async function serve(topo: Topology, ns: string, port: number, reply: string, opts: { udp?: boolean } = {}): Promise<void> {
  const listen = opts.udp ? `UDP6-RECVFROM:${port},fork,reuseaddr` : `TCP6-LISTEN:${port},fork,reuseaddr`;
  // EXEC runs echo directly (no shell).
  topo.sb.spawn('socat', [listen, `EXEC:echo ${reply}`], ns);
  await topo.sb.waitForPort(port, ns, opts);
}

/** A TCP server that answers with the address the connection came from (to see masquerade). */
export async function whoami(topo: Topology, ns: string, port: number): Promise<void> {
  topo.sb.spawn('socat', [`TCP4-LISTEN:${port},fork,reuseaddr`, 'EXEC:printenv SOCAT_PEERADDR'], ns);
  await topo.sb.waitForPort(port, ns);
}

/**
 * One short attempt to reach address:port from a namespace: the reply, or undefined when nothing
 * answered within about a second (for "must not be reachable" checks, unlike Sandbox.send's retries).
 */
export async function probe(topo: Topology, from: string, address: string, port: number, opts: { udp?: boolean; sourcePort?: number } = {}): Promise<string | undefined> {
  const host = address.includes(':') ? `[${address}]` : address;
  const extra = opts.sourcePort ? `,sourceport=${opts.sourcePort},reuseaddr` : '';
  const target = opts.udp ? `UDP:${host}:${port}${extra}` : `TCP:${host}:${port},connect-timeout=1${extra}`;
  const r = await topo.sb.exec('socat', ['-T', '1', '-', target], from, { input: 'ping\n', reject: false, timeout: 5000 });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/**
 * Like probe, retrying for up to ~20 s: for paths that must work. The first packets may race ARP/ND,
 * and on a loaded machine (the whole suite at once, on 2 cores) a first connection has been seen
 * to take more than the 6 one-second attempts this used to allow.
 */
export async function reach(topo: Topology, from: string, address: string, port: number, opts: { udp?: boolean; sourcePort?: number } = {}): Promise<string | undefined> {
  const deadline = Date.now() + 20_000;
  do {
    const r = await probe(topo, from, address, port, opts);
    if (r !== undefined) return r;
  } while (Date.now() < deadline);
  return undefined;
}

/** The family's ruleset as iptables-save prints it, without its header comments and counters. */
export async function ruleset(topo: Topology, family: 4 | 6 = 4): Promise<string[]> {
  const r = await topo.sb.exec(family === 4 ? 'iptables-save' : 'ip6tables-save', []);
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

/**
 * Runs `body` (the body of an async function, with `fw`: a FirewallBackend on this topology's data
 * dir) in a Node process inside the host namespace, as the bridge plugin calls the library
 * in-process; resolves with what the body returns, through JSON.
 */
export async function inHost<T>(topo: Topology, body: string): Promise<T> {
  const index = pathToFileURL(join(repoRoot, 'nat', 'index.ts')).href;
  const code = [
    `const { firewallBackend } = await import(${JSON.stringify(index)});`,
    `const fw = firewallBackend({ dataDir: ${JSON.stringify(topo.dataDir)} });`,
    `const out = await (async () => { ${body} })();`,
    'process.stdout.write(JSON.stringify(out ?? null));',
  ].join('\n');
  const r = await topo.sb.exec(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], topo.sb.hostPath, { timeout: 120_000 });
  return JSON.parse(r.stdout) as T;
}

/** A host port claim as the store keeps it (tcp, one port, unless told otherwise). */
export const claim = (bindIP: string, hostPort: number, hostPortEnd = hostPort, protocol: PortClaim['protocol'] = 'tcp'): PortClaim => ({
  protocol,
  family: bindIP.includes(':') ? 6 : 4,
  bindIP,
  hostPort,
  hostPortEnd,
});

const TOOLS = ['iptables', 'iptables-restore', 'iptables-save', 'ip6tables', 'ip6tables-restore', 'ip6tables-save'];

/** A directory of wrappers logging each iptables run before running `variant` (nft or legacy) of it. */
export function iptablesWrappers(t: { teardown(fn: () => void): void }, variant: 'nft' | 'legacy') {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-ipt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'log');
  writeFileSync(log, '');
  for (const tool of TOOLS) {
    const real = tool.replace(/^(ip6?tables)/, `$1-${variant}`);
    writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool}" >> "${log}"\nexec /usr/sbin/${real} "$@"\n`);
    chmodSync(join(dir, tool), 0o755);
  }
  return {
    env: { PATH: `${dir}:${process.env.PATH ?? '/usr/sbin:/usr/bin'}` },
    /** The programs run since the last call. */
    take(): string[] {
      const ran = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      writeFileSync(log, '');
      return ran;
    },
  };
}
