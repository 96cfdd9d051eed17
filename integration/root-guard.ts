// A snapshot of the machine's root network namespace: links, addresses, routes, firewall rules and
// the forwarding sysctls. The test wrapper (scripts/test.mjs) takes one before and one after the whole
// suite and fails when they differ, proving the suite never touched the real host.
import { execa } from 'execa';
import { readFileSync, readdirSync } from 'node:fs';
import { SANDBOX_PREFIX } from './sandbox.js';

async function json(args: string[]): Promise<any[]> {
  const r = await execa('ip', ['-j', ...args], { reject: false });
  return r.exitCode === 0 && r.stdout ? JSON.parse(r.stdout) : [];
}

async function rules(tool: string): Promise<string[]> {
  const r = await execa(tool, [], { reject: false });
  if (r.exitCode !== 0) return [`${tool} unavailable`];
  // Drop comments and packet counters, which change with traffic.
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, ''));
}

export async function rootSnapshot(): Promise<Record<string, unknown>> {
  const links = (await json(['link', 'show'])).map((l) => `${l.ifname} mtu=${l.mtu} master=${l.master ?? ''} mac=${l.address ?? ''}`);
  const addrs = (await json(['addr', 'show'])).flatMap((l) => (l.addr_info ?? []).map((a: any) => `${l.ifname} ${a.local}/${a.prefixlen}`));
  const routes = [
    ...(await json(['-4', 'route', 'show', 'table', 'all'])),
    ...(await json(['-6', 'route', 'show', 'table', 'all'])),
  ].map((r) => `${r.dst} via=${r.gateway ?? ''} dev=${r.dev ?? ''} table=${r.table ?? 'main'} proto=${r.protocol ?? ''}`);
  const sysctls = ['net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding', 'net/ipv4/conf/all/route_localnet'].map(
    (k) => `${k}=${readFileSync(`/proc/sys/${k}`, 'utf8').trim()}`,
  );
  return {
    links: links.sort(),
    addrs: addrs.sort(),
    routes: routes.sort(),
    iptables: await rules('iptables-save'),
    ip6tables: await rules('ip6tables-save'),
    sysctls,
  };
}

/** Sandbox namespaces still present (there must be none after a run). */
export function leftoverNamespaces(): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(SANDBOX_PREFIX));
  } catch {
    return [];
  }
}
