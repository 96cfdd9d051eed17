// The CNI runtime: what libcni does for containerd, CRI-O and Podman, as an in-process library.
// ADD runs a list's plugins in order, each with the list's name and cniVersion, the runtimeConfig
// its declared capabilities ask for, and the previous plugin's result as prevResult; the final
// result is cached per (network, container, ifname). DEL runs the plugins in reverse with the
// cached result, CHECK in order with it, GC DELs cached attachments no longer valid and then asks
// each plugin to collect what it leaked; STATUS and VERSION probe plugins. Like libcni, a chain
// stops at the first failing plugin, and ADD does not roll back: the caller DELs (with the same
// arguments) to clean up a failed ADD. Plugins inherit this process's network namespace, unless
// `execPrefix` runs them through something that switches it (nsenter, in tests).
import { CniError, ErrorCode, toCniError } from '../cni/errors.js';
import { decodeResult, execPlugin, findPlugin } from '../cni/delegate.js';
import type { Attachment, Result } from '../cni/types.js';
import { validateContainerId, validateInterfaceName } from '../cni/validate.js';
import { LATEST_VERSION, compareVersions, fromWire, toWire } from '../cni/version.js';
import type { NetworkConfigList, PluginConf } from './conflist.js';
import { CACHE_KIND, type CacheEntry, DEFAULT_CACHE_DIR, ResultCache, decodeConfig, encodeConfig } from './result-cache.js';

export interface RuntimeOptions {
  /** Directories searched for plugin executables, in order; also passed as CNI_PATH. */
  pluginPath: readonly string[];
  /** Where attachment results are cached (libcni's layout); default /var/lib/cni. */
  cacheDir?: string;
  /** Runs each plugin through this command, e.g. ['nsenter', '--net=/run/netns/h', '--']. */
  execPrefix?: readonly string[];
  /** The base environment of plugin processes (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Per-plugin time limit (default: none, as libcni without a context deadline). */
  timeoutMs?: number;
  /** Told of every plugin execution once it ends: which plugin, which command, its wall time, whether it succeeded. */
  onPluginRun?: (run: PluginRun) => void;
}

/** One plugin execution, as `onPluginRun` reports it. */
export interface PluginRun {
  type: string;
  command: Command;
  /** From the spawn to the plugin's exit, including `execPrefix`. */
  ms: number;
  ok: boolean;
}

/** One attachment's parameters (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  /** The namespace path; may be '' on DEL when the namespace is gone. */
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs, e.g. [['IgnoreUnknown', '1']]. */
  args?: ReadonlyArray<readonly [string, string]>;
  /** Values for the plugins' capabilities (portMappings, ips, mac, ipRanges, dns, bandwidth, ...). */
  capabilityArgs?: Record<string, unknown>;
}

export interface PluginVersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

/** An attachment recorded in the cache. */
export interface CachedAttachment {
  containerId: string;
  network: string;
  ifname: string;
  netns: string;
  /** The list's source text, as cached at ADD. */
  config: string;
  args?: Array<[string, string]>;
  capabilityArgs?: Record<string, unknown>;
}

type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** libcni's plugin description in error messages: type="bridge" (name="x" when the plugin has its own). */
function describe(plugin: PluginConf): string {
  return `type=${JSON.stringify(plugin.type)}${typeof plugin.name === 'string' && plugin.name ? ` name=${JSON.stringify(plugin.name)}` : ''}`;
}

/** The plugin's failure as a CniError that keeps its code and details and names the plugin. */
function pluginFailed(plugin: PluginConf, command: Command, err: unknown): CniError {
  const e = toCniError(err);
  return new CniError(e.code, `plugin ${describe(plugin)} failed (${command.toLowerCase()}): ${e.message}`, e.details);
}

/** runtimeConfig: only the capability arguments the plugin declares (libcni's filter). */
function runtimeConfigFor(plugin: PluginConf, capabilityArgs: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const rc: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
    if (enabled === true && capabilityArgs && Object.hasOwn(capabilityArgs, capability) && capabilityArgs[capability] != null) {
      rc[capability] = capabilityArgs[capability];
    }
  }
  return Object.keys(rc).length > 0 ? rc : undefined;
}

const atLeast = (version: string, min: string) => compareVersions(version, min) >= 0;
const key = (list: NetworkConfigList, rt: RuntimeConf) => ({ network: list.name, containerId: rt.containerId, ifname: rt.ifname });

/** The attachment names libcni validates (they also name the cache record). */
function checkAttachment(rt: RuntimeConf): void {
  validateContainerId(rt.containerId);
  validateInterfaceName(rt.ifname);
}

export class CniRuntime {
  readonly cache: ResultCache;

  constructor(private readonly opts: RuntimeOptions) {
    this.cache = new ResultCache(opts.cacheDir ?? DEFAULT_CACHE_DIR);
  }

  /** Runs the plugins' ADD in order and caches the final result. */
  async add(list: NetworkConfigList, rt: RuntimeConf): Promise<Result> {
    checkAttachment(rt);
    if (list.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `network ${JSON.stringify(list.name)} has no plugins`);
    let result: Result | undefined;
    for (const plugin of list.plugins) {
      result = await this.run('ADD', list, plugin, rt, this.stdin(list, plugin, result, rt.capabilityArgs));
    }
    const final = result as Result;
    try {
      await this.cache.write(this.cacheEntry(list, rt, final));
    } catch (err) {
      throw new CniError(ErrorCode.IOFailure, `failed to cache the result of network ${JSON.stringify(list.name)}: ${(err as Error).message}`);
    }
    return final;
  }

  /**
   * Runs the plugins' DEL in reverse order with the cached ADD result as prevResult, then drops the
   * record. Arguments not given (args, capabilityArgs) come from the record, so a caller that lost
   * them (a restarted engine) still tears down the published ports. A record that cannot be read is
   * dropped and DEL goes on without a prevResult, as libcni does.
   */
  async del(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    checkAttachment(rt);
    let record: Record<string, unknown> | undefined;
    let prev: Result | undefined;
    try {
      record = await this.cache.read(key(list, rt));
      prev = record && atLeast(list.cniVersion, '0.4.0') ? this.resultOf(record) : undefined;
    } catch {
      await this.cache.remove(key(list, rt));
      record = undefined;
    }
    const cached = record?.kind === CACHE_KIND ? (record as unknown as CacheEntry) : undefined;
    const effective: RuntimeConf = {
      ...rt,
      args: rt.args ?? cached?.cniArgs,
      capabilityArgs: rt.capabilityArgs ?? cached?.capabilityArgs,
    };
    for (const plugin of [...list.plugins].reverse()) {
      await this.run('DEL', list, plugin, effective, this.stdin(list, plugin, prev, effective.capabilityArgs));
    }
    // libcni keeps the record of a pre-0.4.0 list here; nothing reads it again, so it is dropped for every version.
    await this.cache.remove(key(list, rt));
  }

  /**
   * Runs the plugins' CHECK in order with the cached result. Resolves false without running
   * anything when the list sets disableCheck (libcni's behaviour); refuses lists older than 0.4.0.
   */
  async check(list: NetworkConfigList, rt: RuntimeConf): Promise<boolean> {
    if (!atLeast(list.cniVersion, '0.4.0')) {
      throw new CniError(ErrorCode.IncompatibleVersion, `configuration version ${JSON.stringify(list.cniVersion)} does not support the CHECK command`);
    }
    if (list.disableCheck) return false;
    let prev: Result | undefined;
    try {
      const record = await this.cache.read(key(list, rt));
      prev = record ? this.resultOf(record) : undefined;
    } catch (err) {
      throw new CniError(ErrorCode.IOFailure, `failed to get the cached result of network ${JSON.stringify(list.name)}: ${(err as Error).message}`);
    }
    for (const plugin of list.plugins) {
      await this.run('CHECK', list, plugin, rt, this.stdin(list, plugin, prev, rt.capabilityArgs));
    }
    return true;
  }

  /**
   * Garbage collection, as libcni does it: DEL every cached attachment of this network that is not
   * in `valid`, then (1.1.0 lists) run each plugin's GC once with the valid attachments, so plugins
   * release what leaked without a record. Goes on past failures and reports them all at the end.
   * A list with disableGC is left alone.
   */
  async gc(list: NetworkConfigList, valid: readonly Attachment[]): Promise<void> {
    if (list.disableGC) return;
    const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
    const errors: CniError[] = [];
    for (const a of await this.cachedAttachments()) {
      if (a.network !== list.name || keep.has(`${a.containerId}\0${a.ifname}`)) continue;
      try {
        await this.del(list, { containerId: a.containerId, netns: a.netns, ifname: a.ifname, args: a.args, capabilityArgs: a.capabilityArgs });
      } catch (err) {
        const e = toCniError(err);
        errors.push(new CniError(e.code, `failed to delete stale attachment ${a.containerId} ${a.ifname}: ${e.message}`, e.details));
      }
    }
    if (atLeast(list.cniVersion, '1.1.0')) {
      const attachments = valid.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
      for (const plugin of list.plugins) {
        // Both keys, as libcni sends them: the spec's, and the one an early draft named.
        const stdin = JSON.stringify({ ...plugin, name: list.name, cniVersion: list.cniVersion, 'cni.dev/valid-attachments': attachments, 'cni.dev/attachments': attachments });
        try {
          await this.run('GC', list, plugin, undefined, stdin);
        } catch (err) {
          errors.push(toCniError(err));
        }
      }
    }
    if (errors.length > 0) throw new CniError(errors[0]!.code, errors.map((e) => e.message).join('; '), errors.find((e) => e.details)?.details);
  }

  /** Asks each plugin whether it can serve ADD now (1.1.0 lists; older ones pass). Stops at the first that cannot. */
  async status(list: NetworkConfigList): Promise<void> {
    if (!atLeast(list.cniVersion, '1.1.0')) return;
    for (const plugin of list.plugins) {
      await this.run('STATUS', list, plugin, undefined, JSON.stringify({ ...plugin, name: list.name, cniVersion: list.cniVersion }));
    }
  }

  /** The spec versions a plugin speaks (CNI_COMMAND=VERSION). */
  async versionInfo(type: string): Promise<PluginVersionInfo> {
    const plugin: PluginConf = { type };
    const out = await this.run('VERSION', undefined, plugin, undefined, JSON.stringify({ cniVersion: LATEST_VERSION }));
    let raw: { cniVersion?: unknown; supportedVersions?: unknown };
    try {
      raw = JSON.parse(out);
    } catch {
      throw new CniError(ErrorCode.DecodingFailure, `plugin ${describe(plugin)} answered VERSION with something that is not JSON`, out.slice(0, 2000));
    }
    const cniVersion = typeof raw?.cniVersion === 'string' ? raw.cniVersion : '0.1.0';
    const supported = Array.isArray(raw?.supportedVersions) ? raw.supportedVersions.filter((v): v is string => typeof v === 'string') : undefined;
    // A plugin too old to list its versions speaks the legacy pair (libcni's decoder says the same).
    return { cniVersion, supportedVersions: supported ?? (compareVersions(cniVersion, '0.3.0') < 0 ? ['0.1.0', '0.2.0'] : [cniVersion]) };
  }

  /**
   * Checks that every plugin of the list exists and speaks the list's version; returns the
   * capabilities the list declares. Throws one error naming every problem.
   */
  async validate(list: NetworkConfigList): Promise<string[]> {
    const problems: string[] = [];
    for (const plugin of list.plugins) {
      try {
        const info = await this.versionInfo(plugin.type);
        if (!info.supportedVersions.includes(list.cniVersion)) problems.push(`plugin ${plugin.type} does not support config version ${JSON.stringify(list.cniVersion)}`);
      } catch (err) {
        problems.push(toCniError(err).message);
      }
    }
    if (problems.length > 0) throw new CniError(ErrorCode.InvalidNetworkConfig, problems.join('; '));
    return [...new Set(list.plugins.flatMap((p) => Object.entries(p.capabilities ?? {}).filter(([, on]) => on === true).map(([c]) => c)))];
  }

  /** The cached ADD result of an attachment, undefined when none is recorded. */
  async cachedResult(list: NetworkConfigList, rt: Pick<RuntimeConf, 'containerId' | 'ifname'>): Promise<Result | undefined> {
    const record = await this.cache.read({ network: list.name, containerId: rt.containerId, ifname: rt.ifname });
    return record ? this.resultOf(record) : undefined;
  }

  /** Attachments recorded in the cache (of one container, when given). */
  async cachedAttachments(containerId?: string): Promise<CachedAttachment[]> {
    return (await this.cache.list(containerId)).map((e) => ({
      containerId: e.containerId,
      network: e.networkName,
      ifname: e.ifName,
      netns: e.netns ?? '',
      config: decodeConfig(e.config ?? ''),
      ...(e.cniArgs ? { args: e.cniArgs } : {}),
      ...(e.capabilityArgs ? { capabilityArgs: e.capabilityArgs } : {}),
    }));
  }

  /** A cache record's result (a cniCacheV1 record's `result`, or a legacy bare result). */
  private resultOf(record: Record<string, unknown>): Result | undefined {
    const raw = record.kind === CACHE_KIND ? record.result : record;
    if (raw === undefined || raw === null) return undefined;
    const version = (raw as { cniVersion?: unknown }).cniVersion;
    return fromWire(raw, typeof version === 'string' ? version : LATEST_VERSION, 'cached result');
  }

  private cacheEntry(list: NetworkConfigList, rt: RuntimeConf, result: Result): CacheEntry {
    return {
      kind: CACHE_KIND,
      containerId: rt.containerId,
      config: encodeConfig(list.bytes),
      ifName: rt.ifname,
      networkName: list.name,
      ...(rt.netns ? { netns: rt.netns } : {}),
      ...(rt.args?.length ? { cniArgs: rt.args.map(([k, v]) => [k, v] as [string, string]) } : {}),
      ...(rt.capabilityArgs && Object.keys(rt.capabilityArgs).length ? { capabilityArgs: rt.capabilityArgs } : {}),
      result: toWire(result, list.cniVersion),
    };
  }

  /** A plugin's stdin: its config with the list's name and version, prevResult (in the list's version) and runtimeConfig injected. */
  private stdin(list: NetworkConfigList, plugin: PluginConf, prev: Result | undefined, capabilityArgs: Record<string, unknown> | undefined): string {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    if (prev) conf.prevResult = toWire(prev, list.cniVersion);
    const rc = runtimeConfigFor(plugin, capabilityArgs);
    if (rc) conf.runtimeConfig = rc;
    return JSON.stringify(conf);
  }

  private env(command: Command, rt: RuntimeConf | undefined): Record<string, string | undefined> {
    return {
      ...(this.opts.env ?? process.env),
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt?.containerId ?? '',
      CNI_NETNS: rt?.netns ?? '',
      CNI_IFNAME: rt?.ifname ?? '',
      CNI_ARGS: (rt?.args ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
      CNI_PATH: this.opts.pluginPath.join(':'),
    };
  }

  /** Execs one plugin; ADD returns its decoded result, the other commands its raw stdout. */
  private async run(command: 'ADD', list: NetworkConfigList, plugin: PluginConf, rt: RuntimeConf, stdin: string): Promise<Result>;
  private async run(command: Exclude<Command, 'ADD'>, list: NetworkConfigList | undefined, plugin: PluginConf, rt: RuntimeConf | undefined, stdin: string): Promise<string>;
  private async run(command: Command, list: NetworkConfigList | undefined, plugin: PluginConf, rt: RuntimeConf | undefined, stdin: string): Promise<Result | string> {
    let started: number | undefined;
    let ok = false;
    try {
      const file = findPlugin(plugin.type, this.opts.pluginPath);
      started = performance.now();
      const out = await execPlugin({ type: plugin.type, file, env: this.env(command, rt), stdin, prefix: this.opts.execPrefix, timeoutMs: this.opts.timeoutMs });
      const answer = command === 'ADD' ? decodeResult(out, plugin.type, list!.cniVersion) : out;
      ok = true;
      return answer;
    } catch (err) {
      throw pluginFailed(plugin, command, err);
    } finally {
      // Only what was executed: a plugin not found never ran.
      if (started !== undefined) this.opts.onPluginRun?.({ type: plugin.type, command, ms: performance.now() - started, ok });
    }
  }
}
