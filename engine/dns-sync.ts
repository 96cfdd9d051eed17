// Keeps the DNS responder (dns/) in step with the containers: after every change the engine hands
// over all container records, and this writes each user network's records and the responder's
// config, starts the daemon when the first user network has a container and stops it (removing
// its state) when the last one leaves. The default `bridge` network has no name resolution
// (Docker's rule). Runs under the engine lock, which is the single writer the daemon's files need.
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { parseCidr, formatCidr, networkOf } from '../ip/address.js';
import { dnsStatePaths, ensureResponder, removeRecordsFile, runningPid, stopResponder, writeRecordsFile, writeResponderFile } from '../dns/index.js';
import type { ContainerRecord } from './container-store.js';

export interface DnsSyncOptions {
  /** The responder's state dir (its files go to <stateDir>/dns). */
  stateDir: string;
  /** daemon.json's dns: the responder's upstreams (else the host's resolv.conf). */
  upstreams?: readonly string[];
  /** argv starting the daemon, before its `--state-dir DIR`; without it name resolution is off. */
  command?: readonly [string, ...string[]];
  logFile?: string;
}

/** Whether an attachment's network gets name resolution. */
export const hasNameResolution = (network: string): boolean => network !== 'bridge';

const addressOnly = (cidr: string) => cidr.split('/')[0]!;
const subnetOf = (cidr: string) => {
  const c = parseCidr(cidr)!;
  return formatCidr({ addr: { ...c.addr, value: networkOf(c) }, prefix: c.prefix });
};

export class DnsSync {
  constructor(private readonly opts: DnsSyncOptions) {}

  /** The addresses at which the container asks the responder (its user networks' gateways), or undefined without any. */
  responderAddresses(c: ContainerRecord): string[] | undefined {
    if (!this.opts.command) return undefined;
    const gateways = c.attachments.filter((a) => hasNameResolution(a.network)).flatMap((a) => a.gateways);
    return gateways.length ? [...new Set(gateways)] : undefined;
  }

  async sync(containers: readonly ContainerRecord[]): Promise<void> {
    const command = this.opts.command;
    if (!command) return;
    const byNetwork = new Map<string, ContainerRecord[]>();
    for (const c of containers) {
      if (c.state !== 'created') continue;
      for (const a of c.attachments) if (hasNameResolution(a.network)) (byNetwork.get(a.network) ?? byNetwork.set(a.network, []).get(a.network)!).push(c);
    }
    const paths = dnsStatePaths(this.opts.stateDir);
    if (byNetwork.size === 0) {
      if (runningPid(paths.pidFile) !== undefined) await stopResponder(this.opts.stateDir);
      await rm(paths.dir, { recursive: true, force: true });
      return;
    }
    const networks = [...byNetwork].map(([name, members]) => {
      const atts = members.flatMap((c) => c.attachments.filter((a) => a.network === name));
      return { name, listen: [...new Set(atts.flatMap((a) => a.gateways))], subnets: [...new Set(atts.flatMap((a) => a.addresses.map(subnetOf)))] };
    });
    for (const [name, members] of byNetwork) {
      writeRecordsFile(
        this.opts.stateDir,
        name,
        members.map((c) => {
          const att = c.attachments.find((a) => a.network === name)!;
          const ips = att.addresses.map(addressOnly);
          return { id: c.id, name: c.name, aliases: att.aliases, ipv4: ips.filter((ip) => !ip.includes(':')), ipv6: ips.filter((ip) => ip.includes(':')), dnsServers: c.dns.servers };
        }),
      );
    }
    writeResponderFile(this.opts.stateDir, { ...(this.opts.upstreams?.length ? { upstreams: [...this.opts.upstreams] } : {}), networks });
    for (const stale of this.servedNetworks(paths.recordsDir).filter((n) => !byNetwork.has(n))) removeRecordsFile(this.opts.stateDir, stale);
    await ensureResponder(this.opts.stateDir, { command, ...(this.opts.logFile ? { logFile: this.opts.logFile } : {}) });
  }

  private servedNetworks(recordsDir: string): string[] {
    try {
      return readdirSync(recordsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -'.json'.length));
    } catch {
      return [];
    }
  }
}
