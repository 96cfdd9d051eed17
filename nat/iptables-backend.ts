// The iptables implementation of FirewallBackend: the layout (layout.ts) planned into rule sets,
// host ports reserved (port-store.ts), the plan recorded (records.ts), then applied (engine.ts).
// install and verify take any plan, so other layouts (the reference firewall plugin's) share
// the same recording, transactions and fallbacks.
import { checkpoint } from '../cni/checkpoint.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import { ipv4DevConf } from '../netlink/devconf.js';
import { originalNetNs } from '../netlink/netns.js';
import { withRtnl } from '../netlink/rtnl.js';
import { writeSysctl } from '../netlink/sysctl.js';
import { join } from 'node:path';
import type { FirewallBackend, NetworkSpec } from './backend.js';
import { ensureBridgeFiltering } from './bridge-netfilter.js';
import { flushUdp } from './conntrack.js';
import { RuleEngine } from './engine.js';
import { systemIptables, type Iptables } from './iptables.js';
import { planAttachment, sharedLayout, type InstallPlan } from './layout.js';
import { attachmentKey } from './names.js';
import { PortStore, type PortHolder } from './port-store.js';
import { RecordStore, type AttachmentRecord } from './records.js';
import type { RuleSet } from './rule.js';
import type { AttachmentRef, ContainerSpec, ValidAttachment } from './types.js';

/** Records describe kernel state that a reboot wipes, so they live on tmpfs and vanish with it. */
export const DEFAULT_DATA_DIR = '/run/cni/ctnet';
export const DATA_DIR_ENV = 'CTNET_NAT_DATA_DIR';

/** The config's dataDir, else $CTNET_NAT_DATA_DIR, else /run/cni/ctnet. */
export function resolveDataDir(configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  return configured || env[DATA_DIR_ENV] || DEFAULT_DATA_DIR;
}

export interface IptablesBackendOptions {
  /** Where records and port reservations live (see resolveDataDir). */
  dataDir?: string;
  lockTimeoutMs?: number;
  /** Diagnostics that do not fail the operation (a plugin passes stderr). */
  log?: (message: string) => void;
  iptables?: Iptables;
}

export class IptablesBackend implements FirewallBackend {
  readonly name = 'iptables';
  private readonly engine: RuleEngine;
  private readonly records: RecordStore;
  private readonly ports: PortStore;
  private readonly log: (message: string) => void;

  constructor(opts: IptablesBackendOptions = {}) {
    const dir = resolveDataDir(opts.dataDir);
    this.records = new RecordStore(join(dir, 'attachments'));
    this.ports = new PortStore(join(dir, 'ports'), opts.lockTimeoutMs);
    this.engine = new RuleEngine(opts.iptables ?? systemIptables, { lockPath: join(dir, 'iptables.lock'), lockTimeoutMs: opts.lockTimeoutMs });
    this.log = opts.log ?? (() => {});
  }

  async setupNetwork(network: NetworkSpec): Promise<void> {
    if (network.bridge) await this.enableLocalnet(network.bridge);
    await Promise.all((network.families ?? [4, 6]).map((f) => this.engine.ensureShared(f, sharedLayout(f, { markMasqBit: network.markMasqBit }))));
  }

  async teardownNetwork(network: { network: string; owner?: string }): Promise<void> {
    await this.gc(network.network, [], network.owner !== undefined ? { owner: network.owner } : {});
  }

  async setupContainer(spec: ContainerSpec): Promise<void> {
    const plan = planAttachment(spec);
    // Before the rules, so the first connection to 127.0.0.1 already works.
    if (plan.localnet && spec.bridge) await this.enableLocalnet(spec.bridge);
    await ensureBridgeFiltering(plan.bridged, 'icc=false');
    await this.install(plan);
  }

  async teardownContainer(ref: AttachmentRef, opts: { sweepUnrecorded?: boolean } = {}): Promise<void> {
    const key = attachmentKey(ref);
    const rec = this.records.read(key);
    if (rec) return this.removeRecorded([rec]);
    // Nothing recorded: nothing to do, unless the rules may exist without their record.
    if (!opts.sweepUnrecorded) return;
    for (const family of [4, 6] as const) await this.engine.sweep(family, (tag) => tag.key === key);
    await this.ports.releaseWhere((h) => h.key === key);
  }

  async checkContainer(spec: ContainerSpec): Promise<void> {
    await this.verify(planAttachment(spec));
  }

  /**
   * Records the plan, reserves its ports, applies its rules; on any failure nothing of it stays.
   * An earlier installation of the same attachment is removed first (a repeated ADD replaces).
   */
  async install(plan: InstallPlan): Promise<void> {
    const previous = this.records.read(plan.key);
    if (previous) await this.removeRecorded([previous]);
    if (plan.families.length === 0 && plan.claims.length === 0) return;
    const rec: AttachmentRecord = {
      version: 1,
      key: plan.key,
      ...plan.ref,
      families: plan.families.map((f) => ({ family: f.family, owned: f.owned })),
      claims: plan.claims,
      udp: plan.udp,
    };
    // Recorded before anything exists, so a crash at any later point leaves DEL a way to clean up.
    this.records.write(rec);
    checkpoint('nat-recorded');
    let applied: RuleSet[];
    try {
      await this.ports.reserve(holderOf(rec), plan.claims);
      checkpoint('nat-ports-reserved');
      applied = await this.engine.apply(plan.families);
    } catch (err) {
      await this.ports.release(rec.key, rec.claims).catch((e: Error) => this.log(`cannot release the port reservations of ${rec.containerId}: ${e.message}`));
      this.records.remove(rec.key);
      throw err;
    }
    if (applied.some((s) => s.rules.some((r) => r.handle !== undefined))) this.recordHandles(rec, applied);
    await flushUdp(plan.udp, this.log);
  }

  /**
   * Rewrites the record with the rules' nf_tables handles, which spare DEL reading the shared
   * chains whole. Without them (this failed, or a crash came first) DEL finds the rules by their tags.
   */
  private recordHandles(rec: AttachmentRecord, applied: readonly RuleSet[]): void {
    try {
      this.records.write({ ...rec, families: rec.families.map((f, i) => ({ family: f.family, owned: applied[i] ?? f.owned })) });
    } catch (err) {
      this.log(`cannot record the nf_tables handles of ${rec.containerId}'s rules (DEL will look for them by tag): ${(err as Error).message}`);
    }
  }

  async verify(plan: InstallPlan): Promise<void> {
    if (plan.families.length === 0 && plan.claims.length === 0) return;
    if (!this.records.read(plan.key)) {
      throw new CniError(ErrorCode.CheckFailed, `no firewall rules are recorded for container ${plan.ref.containerId} (${plan.ref.ifname}) on network ${plan.ref.network}`);
    }
    this.ports.verify(plan.key, plan.claims);
    await this.engine.check(plan.families);
  }

  async gc(network: string, valid: readonly ValidAttachment[], opts: { owner?: string } = {}): Promise<void> {
    const validKeys = new Map<string, Set<string>>();
    const isValid = (owner: string, key: string) => {
      let keys = validKeys.get(owner);
      if (!keys) {
        keys = new Set(valid.map((a) => attachmentKey({ network, containerId: a.containerID, ifname: a.ifname, owner })));
        validKeys.set(owner, keys);
      }
      return keys.has(key);
    };
    const stale = (owner: string, key: string) => (opts.owner === undefined || owner === opts.owner) && !isValid(owner, key);
    await this.removeRecorded(this.records.list().filter((r) => r.network === network && stale(r.owner, r.key)));
    // Then whatever still carries a stale tag of this network: rules of a lost record or a killed ADD.
    for (const family of [4, 6] as const) {
      await this.engine.sweep(family, (tag) => tag.network === network && stale(tag.owner, tag.key)).catch((e: Error) => this.log(`GC of IPv${family} rules: ${e.message}`));
    }
    await this.ports.releaseWhere((h) => h.network === network && stale(h.owner, h.key));
  }

  /** Removes recorded attachments: one batch per family for all of them, then their reservations and records. */
  private async removeRecorded(recs: readonly AttachmentRecord[]): Promise<void> {
    if (recs.length === 0) return;
    await Promise.all(
      ([4, 6] as const).map((family) => {
        const sets = recs.flatMap((r) => r.families.filter((f) => f.family === family).map((f) => f.owned));
        return sets.length ? this.engine.remove(family, sets) : undefined;
      }),
    );
    for (const rec of recs) await this.ports.release(rec.key, rec.claims);
    await flushUdp(
      recs.flatMap((r) => r.udp),
      this.log,
    );
    for (const rec of recs) this.records.remove(rec.key);
  }

  /**
   * route_localnet lets packets from 127.0.0.0/8, DNAT'd to a container, leave through the bridge
   * (they are martians otherwise). Written in the namespace this process runs in: the host's; read
   * there over netlink first (netlink/devconf.ts says why), as it is on for every ADD but a bridge's first.
   */
  private async enableLocalnet(bridge: string): Promise<void> {
    // Through the addon: a portmap process has no other rtnetlink request, and npm netlink's socket
    // layer would cost it ~4 ms to load.
    const now = await withRtnl(originalNetNs(), (rtnl) => ipv4DevConf(rtnl, bridge, 'route_localnet'), { thread: 'caller' });
    if (now === 1) return;
    try {
      writeSysctl(`net/ipv4/conf/${bridge}/route_localnet`, '1');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') {
        this.log(`route_localnet not set: no interface ${bridge} here, so published ports will not answer on 127.0.0.1`);
        return;
      }
      throw new CniError(ErrorCode.IOFailure, `cannot set net.ipv4.conf.${bridge}.route_localnet: ${e.message}`);
    }
  }
}

const holderOf = (r: AttachmentRecord): PortHolder => ({ key: r.key, owner: r.owner, network: r.network, containerId: r.containerId, ifname: r.ifname });
