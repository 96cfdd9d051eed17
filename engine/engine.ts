// The engine: Docker's network and container model over CNI, daemonless. Networks are config lists
// in the NetworkStore; a container is a record, a namespace file, a process, and attachments made
// through the CNI runtime (whose result cache is the record teardown works from). Every change to
// containers happens under one lock (<root>/engine.lock), so concurrent ctnet commands are safe; a
// command killed half-way leaves a record in state "creating" that the next one may tear down.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result } from '../cni/types.js';
import { hostResolvConf, parseAddHost, resolveHostGateway, validateDnsFlags, validateHostname } from '../dns/index.js';
import { withLock } from '../lock/flock.js';
import { deleteLink, originalNetNs, withRtnl } from '../netlink/index.js';
import { parseConfList, type NetworkConfigList } from './conflist.js';
import {
  type ContainerAttachment,
  type ContainerRecord,
  ContainerStore,
  type NetworkMode,
  type PublishedPort,
  newContainerId,
  shortId,
  validateContainerName,
} from './container-store.js';
import { containerFiles, execArgv, filePaths, launchArgv } from './container-files.js';
import { type DaemonConfig, bridgeDefaults, defaultBridgeRequest, loadDaemonConfig } from './daemon-config.js';
import { DnsSync } from './dns-sync.js';
import { hostRoutes } from './host-routes.js';
import { resolveHostPort } from './host-ports.js';
import { createNetns, isMounted, removeNetns } from './namespaces.js';
import { type BridgeNetworkRequest, type ConfListDocument, buildBridgeNetwork, subnetsOf } from './network-config.js';
import { DEFAULT_ROOT, NetworkStore } from './network-store.js';
import { isAlive, runForeground, startDetached, stopProcess } from './processes.js';
import { parsePublishSpec } from './publish-spec.js';
import { type CachedAttachment, CniRuntime } from './runtime.js';

export interface EngineOptions {
  /** State root (default /var/lib/ctnet). */
  root?: string;
  /** daemon.json (default /etc/ctnet/daemon.json, which may be absent; a given path must exist). */
  configPath?: string;
  /** Where the CNI plugins are. */
  pluginPath: readonly string[];
  /** How to start the DNS responder daemon (argv before its `--state-dir DIR`). */
  dnsDaemonCommand?: readonly [string, ...string[]];
  /** Things the user should hear about (Docker's WARNINGs). */
  onWarning?: (message: string) => void;
  lockTimeoutMs?: number;
}

export interface RunOptions {
  name?: string;
  command: string[];
  /** bridge (default), a network name, host, none, or container:NAME. */
  network?: string;
  publish?: string[];
  ip?: string;
  aliases?: string[];
  detach?: boolean;
  hostname?: string;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  addHosts?: string[];
}

export interface ConnectOptions {
  ip?: string;
  aliases?: string[];
}

/** A network as listed: a stored bridge network, or one of the built-ins host and none. */
export interface NetworkView {
  name: string;
  id: string;
  driver: 'bridge' | 'host' | 'null';
  doc?: ConfListDocument;
}

/** A container with its live status. */
export interface ContainerView {
  record: ContainerRecord;
  running: boolean;
}

/**
 * How long a command waits for another one's engine lock. A holder is always making progress (a
 * dead one's flock is dropped by the kernel), and a queue of `run`s under load takes a while, so
 * this is generous.
 */
const ENGINE_LOCK_TIMEOUT_MS = 300_000;
const BUILTIN_VIRTUAL = ['host', 'none'] as const;
const virtualId = (name: string) => createHash('sha256').update(`ctnet-builtin-${name}`).digest('hex');
/** Every own namespace gets lo through the `none` network (a loopback attachment). */
const LOOPBACK_LIST = JSON.stringify({ cniVersion: '1.0.0', name: 'none', plugins: [{ type: 'loopback' }] });

export class Engine {
  readonly root: string;
  readonly networks: NetworkStore;
  readonly containers: ContainerStore;
  readonly runtime: CniRuntime;
  readonly config: DaemonConfig;
  private readonly dnsSync: DnsSync;
  private readonly lockPath: string;

  constructor(private readonly opts: EngineOptions) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.config = opts.configPath ? loadDaemonConfig(opts.configPath, { required: true }) : loadDaemonConfig();
    this.networks = new NetworkStore({ root: this.root, ...(opts.lockTimeoutMs ? { lockTimeoutMs: opts.lockTimeoutMs } : {}) });
    this.containers = new ContainerStore(this.root);
    this.runtime = new CniRuntime({ pluginPath: opts.pluginPath, cacheDir: join(this.root, 'cni') });
    this.lockPath = join(this.root, 'engine.lock');
    this.dnsSync = new DnsSync({ stateDir: this.root, upstreams: this.config.dns, command: opts.dnsDaemonCommand, logFile: join(this.root, 'dns', 'daemon.log') });
  }

  private warn(message: string): void {
    this.opts.onWarning?.(message);
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    return withLock(this.lockPath, fn, { what: 'the ctnet engine state', timeoutMs: this.opts.lockTimeoutMs ?? ENGINE_LOCK_TIMEOUT_MS });
  }

  private get defaults() {
    return bridgeDefaults(this.config, join(this.root, 'ipam'));
  }

  private buildContext(existing: ConfListDocument[], routes: string[]) {
    return { existing, hostRoutes: routes, defaults: this.defaults, ...(this.config.defaultAddressPools ? { pools: this.config.defaultAddressPools } : {}) };
  }

  // ---- networks -------------------------------------------------------------------------------

  /**
   * Makes the default `bridge` network exist and match daemon.json. A changed config re-creates it
   * when no container is attached; otherwise the stored one stays, and `strict` (attaching to it)
   * refuses with the reason.
   */
  async ensureDefaultNetwork(strict = false): Promise<ConfListDocument> {
    const current = await this.networks.get('bridge');
    const routes = await hostRoutes();
    if (!current) {
      try {
        return await this.networks.create((existing) => buildBridgeNetwork(defaultBridgeRequest(this.config), this.buildContext(existing, routes)));
      } catch (err) {
        // Another command created it meanwhile.
        const again = await this.networks.get('bridge');
        if (again) return again;
        throw err;
      }
    }
    const desired = (existing: ConfListDocument[], doc: ConfListDocument) =>
      buildBridgeNetwork(defaultBridgeRequest(this.config, subnetsOf(doc)), {
        ...this.buildContext(existing.filter((d) => d.name !== 'bridge'), routes),
        id: doc.ctnet.id,
        created: doc.ctnet.created,
      });
    const wanted = desired(await this.networks.list(), current);
    if (JSON.stringify(wanted.plugins) === JSON.stringify(current.plugins) && JSON.stringify(wanted.ctnet.ipam) === JSON.stringify(current.ctnet.ipam)) return current;
    const attached = (await this.containers.list()).filter((c) => c.attachments.some((a) => a.network === 'bridge')).map((c) => c.name);
    if (attached.length) {
      const msg = `the default bridge network's settings changed (daemon.json bip ${this.config.bip ?? 'automatic'}), but containers are attached to it (${attached.join(', ')}): remove them to apply the change`;
      if (strict) throw new Error(msg);
      return current;
    }
    return this.networks.update('bridge', (doc, existing) => desired(existing, doc));
  }

  async listNetworks(): Promise<NetworkView[]> {
    await this.ensureDefaultNetwork();
    const stored: NetworkView[] = (await this.networks.list()).map((doc) => ({ name: doc.name, id: doc.ctnet.id, driver: 'bridge', doc }));
    const virtual: NetworkView[] = BUILTIN_VIRTUAL.map((name) => ({ name, id: virtualId(name), driver: name === 'host' ? 'host' : 'null' }));
    return [...stored, ...virtual].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A network by name, id or unique id prefix. */
  async network(ref: string): Promise<NetworkView> {
    const all = await this.listNetworks();
    const exact = all.find((n) => n.name === ref) ?? all.find((n) => n.id === ref);
    if (exact) return exact;
    const byPrefix = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length > 1) throw new Error(`network ${ref} is ambiguous (${byPrefix.length} matches found on id prefix)`);
    if (!byPrefix[0]) throw new Error(`network ${ref} not found`);
    return byPrefix[0];
  }

  async createNetwork(req: BridgeNetworkRequest & { driver?: string }): Promise<ConfListDocument> {
    if (req.driver && req.driver !== 'bridge') throw new Error(`driver ${JSON.stringify(req.driver)} is not supported: ctnet creates bridge networks`);
    await this.ensureDefaultNetwork();
    const { driver: _driver, ...request } = req;
    const routes = await hostRoutes();
    return this.networks.create((existing) => buildBridgeNetwork({ ...request, builtin: false }, this.buildContext(existing, routes)));
  }

  /** Removes user networks; refused while containers are attached (naming them). */
  async removeNetwork(ref: string): Promise<string> {
    return this.locked(async () => {
      const view = await this.network(ref);
      if (view.name === 'bridge' || !view.doc) throw new Error(`${view.name} is a pre-defined network and cannot be removed`);
      const attached = (await this.containers.list()).filter((c) => c.attachments.some((a) => a.network === view.name));
      if (attached.length) {
        throw new Error(`error while removing network: network ${view.name} id ${view.id} has active endpoints (${attached.map((c) => c.name).join(', ')})`);
      }
      await this.networks.remove(view.name);
      await this.releaseNetwork(view.doc);
      return view.name;
    });
  }

  /** Removes every user network no container uses; returns their names. */
  async pruneNetworks(): Promise<string[]> {
    const used = new Set((await this.containers.list()).flatMap((c) => c.attachments.map((a) => a.network)));
    const removed: string[] = [];
    for (const n of await this.listNetworks()) {
      if (n.doc && n.name !== 'bridge' && !used.has(n.name)) removed.push(await this.removeNetwork(n.name));
    }
    return removed;
  }

  /** What a removed network leaves in the kernel and on disk: its bridge, leaked plugin state, its IPAM directory. */
  private async releaseNetwork(doc: ConfListDocument): Promise<void> {
    const list = parseConfList(JSON.stringify(doc));
    // No attachment is valid any more: plugins collect whatever is left (1.1.0 GC).
    await this.runtime.gc(list, []).catch((err: unknown) => this.warn(`network ${doc.name}: cleanup: ${(err as Error).message}`));
    const bridge = doc.plugins[0]?.bridge;
    if (typeof bridge === 'string') {
      await withRtnl(originalNetNs(), (rtnl) => deleteLink(rtnl, bridge, { ignoreMissing: true })).catch((err: unknown) =>
        this.warn(`network ${doc.name}: could not delete bridge ${bridge}: ${(err as Error).message}`),
      );
    }
    await rm(join(this.defaults.ipamDataDir!, doc.name), { recursive: true, force: true });
  }

  // ---- containers -----------------------------------------------------------------------------

  async listContainers(): Promise<ContainerView[]> {
    return (await this.containers.list()).map((record) => ({ record, running: isAlive(record.pid, record.startTime) }));
  }

  async container(ref: string): Promise<ContainerView> {
    const record = await this.containers.get(ref);
    return { record, running: isAlive(record.pid, record.startTime) };
  }

  /** Parses --network into a mode; `container:X` needs X running. */
  private async resolveMode(network: string): Promise<{ mode: NetworkMode; doc?: ConfListDocument; joinPid?: number }> {
    if (network === 'host') return { mode: { kind: 'host' } };
    if (network === 'none') return { mode: { kind: 'none' } };
    if (network.startsWith('container:')) {
      const other = await this.container(network.slice('container:'.length));
      if (!other.running) throw new Error(`cannot join network namespace of container ${other.record.name}: it is not running`);
      return { mode: { kind: 'container', id: other.record.id }, joinPid: other.record.pid! };
    }
    const doc = network === 'bridge' ? await this.ensureDefaultNetwork(true) : (await this.network(network)).doc;
    if (!doc) throw new Error(`network ${network} not found`);
    return { mode: { kind: 'bridge' }, doc };
  }

  /** Host ports for the -p specs: given ones checked, empty ones allocated, never one another container publishes. */
  private async publishPorts(specs: readonly string[]): Promise<PublishedPort[]> {
    const taken = new Map<string, Set<number>>();
    for (const c of await this.containers.list()) for (const p of c.ports) (taken.get(p.protocol) ?? taken.set(p.protocol, new Set()).get(p.protocol)!).add(p.hostPort);
    const out: PublishedPort[] = [];
    for (const m of specs.flatMap(parsePublishSpec)) {
      const published = taken.get(m.protocol) ?? taken.set(m.protocol, new Set()).get(m.protocol)!;
      const hostPort = resolveHostPort(m, { published });
      published.add(hostPort);
      out.push({ hostIP: m.hostIP, hostPort, containerPort: m.containerPort, protocol: m.protocol });
    }
    return out;
  }

  /**
   * `ctnet run`: record, namespace, attachments, files, process. Resolves with the record and, for
   * a foreground run, the command's exit status. Whatever fails on the way is torn down again.
   */
  async run(o: RunOptions): Promise<{ record: ContainerRecord; exitCode?: number }> {
    if (o.command.length === 0) throw new Error('run needs a command');
    validateDnsFlags({ dns: o.dns, dnsSearch: o.dnsSearch, dnsOptions: o.dnsOptions });
    const extraHosts = (o.addHosts ?? []).map(parseAddHost);
    const id = newContainerId();
    const name = o.name ?? `ctnet_${shortId(id)}`;
    validateContainerName(name);
    if (o.hostname) validateHostname(o.hostname);

    const setup = await this.locked(async () => {
      await this.reclaimAbandoned(name);
      if (await this.containers.find(name).then((c) => c?.name === name)) {
        throw new Error(`Conflict. The container name "/${name}" is already in use. Remove it first (ctnet rm ${name}).`);
      }
      const { mode, doc, joinPid } = await this.resolveMode(o.network ?? 'bridge');
      let publish = o.publish ?? [];
      if (publish.length && mode.kind === 'container') throw new Error('conflicting options: port publishing and the container type network mode');
      if (publish.length && (mode.kind === 'host' || mode.kind === 'none')) {
        this.warn(`Published ports are discarded when using ${mode.kind} network mode`);
        publish = [];
      }
      if ((o.ip || o.aliases?.length) && mode.kind !== 'bridge') throw new Error(`--ip and --alias need a bridge network, not --network ${o.network}`);
      const record: ContainerRecord = {
        id,
        name,
        created: new Date().toISOString(),
        state: 'creating',
        command: o.command,
        mode,
        attachments: [],
        ports: await this.publishPorts(publish),
        hostname: o.hostname ?? shortId(id),
        dns: { servers: o.dns ?? [], search: o.dnsSearch ?? [], options: o.dnsOptions ?? [] },
        extraHosts,
        ...(mode.kind === 'bridge' || mode.kind === 'none' ? { netns: join(this.root, 'netns', id) } : {}),
      };
      await this.containers.write(record);
      try {
        if (record.netns) {
          await createNetns(record.netns);
          await this.runtime.add(parseConfList(LOOPBACK_LIST), { containerId: id, netns: record.netns, ifname: 'lo' });
        }
        if (doc) record.attachments.push(await this.attach(record, doc, 'eth0', { ip: o.ip, aliases: o.aliases }));
        const files = await this.writeFiles(record, extraHosts);
        record.state = 'created';
        await this.containers.write(record);
        await this.dnsSync.sync(await this.containers.list());
        return { record, argv: launchArgv(record, files, joinPid) };
      } catch (err) {
        await this.teardown(record).catch(() => undefined);
        throw err;
      }
    });

    const { record, argv } = setup;
    const started = async (pid: number, startTime: string) => {
      record.pid = pid;
      record.startTime = startTime;
      await this.locked(() => this.containers.write(record));
    };
    if (o.detach) {
      const { pid, startTime } = await startDetached(argv, join(this.containers.dirOf(record.id), 'log'), this.containers.exitFileOf(record.id));
      await started(pid, startTime);
      return { record };
    }
    const exitCode = await runForeground(argv, started);
    record.exitCode = exitCode;
    await this.locked(async () => {
      // rm may have removed it meanwhile (from another terminal).
      if (existsSync(this.containers.dirOf(record.id))) await this.containers.write(record);
    });
    return { record, exitCode };
  }

  /** A record left in "creating" by a killed command, holding the wanted name: torn down, so the name is free again. */
  private async reclaimAbandoned(name: string): Promise<void> {
    const c = await this.containers.find(name);
    if (c?.name === name && c.state === 'creating') await this.teardown(c);
  }

  /** Writes the container's hosts, resolv.conf and hostname (host mode keeps the host's; container mode shares the other's). */
  private async writeFiles(record: ContainerRecord, extraHosts = record.extraHosts) {
    const dir = this.containers.dirOf(record.id);
    const paths = filePaths(dir);
    if (record.mode.kind === 'host' || record.mode.kind === 'container') return paths;
    const gateways = record.attachments.flatMap((a) => a.gateways);
    const hosts = resolveHostGateway(extraHosts, gateways);
    const { files, warnings } = containerFiles(
      { ...record, extraHosts: hosts },
      { hostDns: hostResolvConf().dns, daemonDns: this.config.dns, responder: this.dnsSync.responderAddresses(record) },
    );
    warnings.forEach((w) => this.warn(w));
    await writeFile(paths.hosts, files.hosts);
    await writeFile(paths.resolvConf, files.resolvConf);
    await writeFile(paths.hostname, files.hostname);
    return paths;
  }

  /** One attachment through the runtime, summarized for the record. */
  private async attach(record: ContainerRecord, doc: ConfListDocument, ifname: string, o: ConnectOptions): Promise<ContainerAttachment> {
    if (o.ip) checkRequestedIp(doc);
    const list = ifname === 'eth0' ? await this.networks.configList(doc.name) : secondaryList(doc);
    const capabilityArgs: Record<string, unknown> = {};
    if (ifname === 'eth0' && record.ports.length) {
      capabilityArgs.portMappings = record.ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, ...(p.hostIP ? { hostIP: p.hostIP } : {}) }));
    }
    if (o.ip) capabilityArgs.ips = [o.ip];
    const rt = { containerId: record.id, netns: record.netns!, ifname, capabilityArgs };
    try {
      return summarize(doc, ifname, o.aliases ?? [], await this.runtime.add(list, rt));
    } catch (err) {
      // libcni's contract: a failed ADD is cleaned up by a DEL with the same arguments.
      await this.runtime.del(list, rt).catch(() => undefined);
      throw err;
    }
  }

  /** `network connect`: the next free ethN. */
  async connect(networkRef: string, containerRef: string, o: ConnectOptions = {}): Promise<ContainerAttachment> {
    return this.locked(async () => {
      const record = await this.containers.get(containerRef);
      const view = await this.network(networkRef);
      if (!view.doc || record.mode.kind !== 'bridge') {
        throw new Error(`container ${record.name} cannot be connected to network ${view.name}: ${!view.doc ? `${view.name} is not a bridge network` : `it uses --network ${modeName(record.mode)}`}`);
      }
      if (view.name === 'bridge') await this.ensureDefaultNetwork(true);
      if (record.attachments.some((a) => a.network === view.name)) throw new Error(`endpoint with name ${record.name} already exists in network ${view.name}`);
      const used = new Set(record.attachments.map((a) => a.ifname));
      let n = 0;
      while (used.has(`eth${n}`)) n++;
      record.attachments.push(await this.attach(record, view.doc, `eth${n}`, o));
      await this.containers.write(record);
      // The bind-mounted files are rewritten in place: the container sees its new address at once.
      await this.writeFiles(record);
      await this.dnsSync.sync(await this.containers.list());
      return record.attachments[record.attachments.length - 1]!;
    });
  }

  /** `network disconnect`: DEL of that attachment. */
  async disconnect(networkRef: string, containerRef: string): Promise<void> {
    await this.locked(async () => {
      const record = await this.containers.get(containerRef);
      const view = await this.network(networkRef);
      const att = record.attachments.find((a) => a.network === view.name);
      if (!att) throw new Error(`container ${record.name} is not connected to network ${view.name}`);
      const cached = (await this.runtime.cachedAttachments(record.id)).find((a) => a.network === view.name && a.ifname === att.ifname);
      if (cached) await this.detach(record, cached);
      record.attachments = record.attachments.filter((a) => a !== att);
      if (att.ifname === 'eth0') record.ports = [];
      await this.containers.write(record);
      await this.writeFiles(record);
      await this.dnsSync.sync(await this.containers.list());
    });
  }

  /** DEL of one attachment with the config it was made with (the cached one). */
  private async detach(record: ContainerRecord, a: CachedAttachment): Promise<void> {
    await this.runtime.del(parseConfList(a.config, `cached config of ${a.network}`), { containerId: record.id, netns: this.liveNetns(record), ifname: a.ifname });
  }

  /** The namespace path when it still exists ('' tells the plugins it is gone, as the spec allows on DEL). */
  private liveNetns(record: ContainerRecord): string {
    return record.netns && isMounted(record.netns) ? record.netns : '';
  }

  /**
   * Tears a container down from what was recorded, not from what is alive: the process, every
   * cached attachment (DEL releases addresses, rules and port reservations even when the namespace
   * is gone), the namespace, the record. Goes on past failures; throws them all at the end, keeping
   * the record so that rm can be retried.
   */
  private async teardown(record: ContainerRecord, graceMs = 0): Promise<void> {
    await stopProcess(record.pid, record.startTime, graceMs);
    const errors: string[] = [];
    for (const a of await this.runtime.cachedAttachments(record.id)) {
      await this.detach(record, a).catch((err: unknown) => errors.push((err as Error).message));
    }
    if (record.netns) await removeNetns(record.netns).catch((err: unknown) => errors.push((err as Error).message));
    if (errors.length) throw new Error(`could not fully remove container ${record.name}: ${errors.join('; ')}`);
    await this.containers.remove(record.id);
  }

  async stop(ref: string, graceMs = 10_000): Promise<ContainerRecord> {
    const { record } = await this.container(ref);
    await stopProcess(record.pid, record.startTime, graceMs);
    return record;
  }

  /** `rm`: refuses a running container unless forced (Docker's rule). */
  async remove(ref: string, force = false): Promise<ContainerRecord> {
    return this.locked(async () => {
      const { record, running } = await this.container(ref);
      if (running && !force) throw new Error(`You cannot remove a running container ${shortId(record.id)}. Stop the container before attempting removal or force remove`);
      await this.teardown(record);
      await this.dnsSync.sync(await this.containers.list());
      return record;
    });
  }

  /**
   * `system prune`, the reconciliation after a crash or a reboot: containers whose process is gone
   * (or whose namespace is, as after a reboot wiped /run) are torn down from their records, then
   * every network is garbage-collected against the containers that remain, which releases what
   * killed commands leaked (addresses, rules, ports, veths) even without any record of it.
   */
  async systemPrune(): Promise<{ containers: string[]; errors: string[] }> {
    return this.locked(async () => {
      const removed: string[] = [];
      const errors: string[] = [];
      for (const record of await this.containers.list()) {
        // Under the lock, a record still "creating" was left by a killed command.
        const gone = record.state === 'creating' || !isAlive(record.pid, record.startTime) || (record.netns !== undefined && !isMounted(record.netns));
        if (!gone) continue;
        await this.teardown(record).then(
          () => removed.push(record.name),
          (err: unknown) => errors.push((err as Error).message),
        );
      }
      const remaining = await this.containers.list();
      const lists = [parseConfList(LOOPBACK_LIST), ...(await Promise.all((await this.listNetworks()).filter((n) => n.doc).map((n) => this.networks.configList(n.name))))];
      for (const list of lists) {
        const valid = remaining.flatMap((c) => (list.name === 'none' ? [{ containerID: c.id, ifname: 'lo' }] : c.attachments.filter((a) => a.network === list.name).map((a) => ({ containerID: c.id, ifname: a.ifname }))));
        await this.runtime.gc(list, valid).catch((err: unknown) => errors.push(`network ${list.name}: ${(err as Error).message}`));
      }
      await this.dnsSync.sync(remaining);
      return { containers: removed, errors };
    });
  }

  /** `exec`: a command in the running container's namespaces; resolves with its exit status. */
  async exec(ref: string, command: string[]): Promise<number> {
    const { record, running } = await this.container(ref);
    if (!running) throw new Error(`container ${record.name} is not running`);
    return runForeground(execArgv(record.pid!, command), async () => undefined);
  }
}

/**
 * A network as a container's second, third... attachment: the default route stays with the first
 * network (Docker's rule), and the kernel refuses a second one anyway. The variant's text is what the
 * cache keeps, so DEL runs with the same config.
 */
function secondaryList(doc: ConfListDocument): NetworkConfigList {
  const { ctnet: _meta, ...list } = doc;
  return parseConfList(JSON.stringify({ ...list, plugins: list.plugins.map((p) => (p.type === 'bridge' ? { ...p, isDefaultGateway: false } : p)) }), doc.name);
}

/** Docker's rules for --ip: user-defined networks only, and only those whose subnets the user chose. */
function checkRequestedIp(doc: ConfListDocument): void {
  if (doc.name === 'bridge') throw new Error('user specified IP address is supported on user defined networks only');
  if (!doc.ctnet.userSubnets) throw new Error(`user specified IP address is supported only when connecting to networks with user configured subnets (network ${doc.name})`);
}

const modeName = (mode: NetworkMode): string => (mode.kind === 'container' ? `container:${shortId(mode.id)}` : mode.kind);

/** An attachment's record from the plugin's result: the container interface's addresses, gateways and MAC. */
function summarize(doc: ConfListDocument, ifname: string, aliases: string[], result: Result): ContainerAttachment {
  const index = result.interfaces?.findIndex((i) => i.name === ifname && i.sandbox) ?? -1;
  const ips = (result.ips ?? []).filter((ip) => index < 0 || ip.interface === undefined || ip.interface === index);
  const mac = index >= 0 ? result.interfaces![index]!.mac : undefined;
  return {
    network: doc.name,
    networkId: doc.ctnet.id,
    ifname,
    aliases,
    addresses: ips.map((ip) => ip.address),
    gateways: ips.flatMap((ip) => (ip.gateway ? [ip.gateway] : [])),
    ...(mac ? { mac } : {}),
  };
}
