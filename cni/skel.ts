// The plugin skeleton: reads the CNI environment and the stdin config, validates them as the
// spec and libcni's skel do, dispatches to the plugin's command, and prints exactly one thing on
// stdout: the result (converted to the config's version) or a spec error, with exit status 1.
// Diagnostics go to stderr. Plugins never parse env vars or print themselves.
import { readFileSync, readSync, writeSync } from 'node:fs';
import { native, type NativeAddon } from '../native/index.js';
import { parseCniArgs } from './args.js';
import { CniError, ErrorCode, toCniError } from './errors.js';
import type { NetConf, Result } from './types.js';
import { validateContainerId, validateInterfaceName, validateNetworkName } from './validate.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, assertSupported, compareVersions, fromWire, isSupported, toWire } from './version.js';

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';
const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'];

export interface CmdArgs {
  command: Command;
  /** '' for GC and STATUS. */
  containerId: string;
  /** May be '' on DEL (the runtime lost the namespace) and for GC/STATUS. */
  netns: string;
  ifname: string;
  /** Parsed CNI_ARGS. */
  args: Map<string, string>;
  /** CNI_PATH, split. */
  path: string[];
}

export interface Plugin<C extends NetConf = NetConf> {
  /** CNI_ARGS keys this plugin understands; others are refused unless IgnoreUnknown=1. */
  knownArgs?: readonly string[];
  /** Validates and normalizes the config; throws CniError (code 7 or 2) naming the bad key. */
  parseConfig(conf: NetConf, args: CmdArgs): C;
  add(args: CmdArgs, conf: C): Promise<Result>;
  del(args: CmdArgs, conf: C): Promise<void>;
  check?(args: CmdArgs, conf: C): Promise<void>;
  gc?(args: CmdArgs, conf: C): Promise<void>;
  status?(args: CmdArgs, conf: C): Promise<void>;
}

/** What a runtime must set for each command (libcni's skel table). */
const REQUIRED: Record<string, readonly Command[]> = {
  CNI_CONTAINERID: ['ADD', 'DEL', 'CHECK'],
  CNI_NETNS: ['ADD', 'CHECK'],
  CNI_IFNAME: ['ADD', 'DEL', 'CHECK'],
  CNI_PATH: ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'],
};

/** The oldest config version that allows each command. */
const MIN_VERSION: Partial<Record<Command, string>> = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };

export type Env = Record<string, string | undefined>;

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (err) {
    // A non-blocking stdin (some runtimes) reports EAGAIN: fall back to polling reads.
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (;;) {
      try {
        const n = readSync(0, buf, 0, buf.length, null);
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      }
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

function parseJsonConfig(stdin: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    const hint = stdin.trim() === '' ? 'stdin is empty' : (err as Error).message;
    throw new CniError(ErrorCode.DecodingFailure, `cannot decode the network config on stdin: ${hint}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, 'cannot decode the network config on stdin: it is not a JSON object');
  }
  return raw as NetConf;
}

/** Reads and validates the environment; throws CniError code 4 for what a runtime got wrong. */
export function readCmdArgs(env: Env, knownArgs: readonly string[] = []): CmdArgs {
  const command = env.CNI_COMMAND;
  if (!command) throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_COMMAND is not set: expected one of ADD, DEL, CHECK, GC, STATUS, VERSION');
  if (!COMMANDS.includes(command) || command === 'VERSION') {
    throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND ${JSON.stringify(command)}: expected one of ${COMMANDS.join(', ')}`);
  }
  const cmd = command as Command;
  const missing = Object.entries(REQUIRED)
    .filter(([name, cmds]) => cmds.includes(cmd) && !env[name])
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing for ${cmd}`);
  }
  const perContainer = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK';
  if (perContainer) {
    validateContainerId(env.CNI_CONTAINERID);
    validateInterfaceName(env.CNI_IFNAME);
  }
  return {
    command: cmd,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: parseCniArgs(env.CNI_ARGS, knownArgs),
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
}

/** Parses the config's common part and its prevResult (into the internal 1.1.0 shape). */
export function readNetConf(stdin: string, command: Command): NetConf {
  const conf = parseJsonConfig(stdin);
  const version = typeof conf.cniVersion === 'string' && conf.cniVersion !== '' ? conf.cniVersion : '0.1.0';
  assertSupported(version);
  const min = MIN_VERSION[command];
  if (min && compareVersions(version, min) < 0) {
    throw new CniError(ErrorCode.IncompatibleVersion, `the network config's cniVersion ${version} does not allow ${command} (it needs ${min} or later)`);
  }
  validateNetworkName(conf.name);
  if (typeof conf.type !== 'string' || conf.type === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'network config has no "type"');
  if (conf.prevResult !== undefined && conf.prevResult !== null) {
    conf.prevResult = fromWire(conf.prevResult, version, 'prevResult');
  } else {
    delete conf.prevResult;
  }
  return conf;
}

/** VERSION: answers whatever the stdin holds (libcni sends {"cniVersion": ...}, a person sends nothing). */
export function versionInfo(): Record<string, unknown> {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/**
 * A plugin, or a loader of it: the executables load theirs after the VERSION check, so a runtime's
 * VERSION probe never pays for the plugin's modules (netlink, nat, valibot schemas).
 */
export type PluginSource = Plugin<NetConf> | (() => Promise<Plugin<NetConf>>);

export interface Outcome {
  exitCode: 0 | 1;
  stdout: string;
}

/** Runs one invocation; never throws (everything becomes a spec error). Exported for tests. */
export async function dispatch(source: PluginSource, env: Env, readInput: () => string): Promise<Outcome> {
  let version = LATEST_VERSION;
  try {
    if (env.CNI_COMMAND === 'VERSION') return ok(versionInfo());
    const plugin = typeof source === 'function' ? await source() : source;
    const args = readCmdArgs(env, plugin.knownArgs);
    const raw = readNetConf(readInput(), args.command);
    version = raw.cniVersion;
    const conf = plugin.parseConfig(raw, args);
    switch (args.command) {
      case 'ADD':
        return ok(toWire(await plugin.add(args, conf), version));
      case 'DEL':
        await plugin.del(args, conf);
        return ok();
      case 'CHECK':
        await (plugin.check ?? unsupported('CHECK'))(args, conf);
        return ok();
      case 'GC':
        await plugin.gc?.(args, conf);
        return ok();
      case 'STATUS':
        await plugin.status?.(args, conf);
        return ok();
    }
  } catch (err) {
    const e = toCniError(err);
    if (e.code === ErrorCode.Internal && process.env.CTNET_DEBUG) process.stderr.write(`${(err as Error).stack ?? err}\n`);
    return { exitCode: 1, stdout: JSON.stringify(e.toJSON(isSupported(version) ? version : LATEST_VERSION)) };
  }
}

function ok(body?: Record<string, unknown>): Outcome {
  return { exitCode: 0, stdout: body ? JSON.stringify(body) : '' };
}

function unsupported(command: string): () => Promise<void> {
  return async () => {
    throw new CniError(ErrorCode.InvalidEnvironment, `this plugin does not implement ${command}`);
  };
}

function writeAll(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

/** The executable's main: run, print, exit. */
export function runPlugin(plugin: PluginSource, about: string): void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stderr.write(`${about}\nA CNI plugin: run by a container runtime with CNI_COMMAND and friends in the environment and the network config on stdin.\nSupported spec versions: ${SUPPORTED_VERSIONS.join(', ')}\n`);
    process.exit(0);
  }
  // Loaded first, so that it sees stdio's flags before any stream of node's changes them (exitNow).
  // Without it, the command that needs it reports the error, as a spec error.
  let addon: NativeAddon | undefined;
  try {
    addon = native();
  } catch {
    addon = undefined;
  }
  void dispatch(plugin, process.env, readStdin).then((out) => {
    if (out.stdout) writeAll(`${out.stdout}\n`);
    exit(out.exitCode, addon);
  });
}

/**
 * process.exit without node's teardown (the addon's exitNow): the 'exit' listeners run, as
 * process.exit runs them (start.cjs writes a code cache in one), then the process ends. Node's own
 * exit stays where it has work to do at exit: a profile or coverage to write (node flags,
 * NODE_OPTIONS, NODE_V8_COVERAGE).
 */
function exit(code: number, addon: NativeAddon | undefined): never {
  if (!addon || process.execArgv.length > 0 || process.env.NODE_OPTIONS || process.env.NODE_V8_COVERAGE !== undefined) process.exit(code);
  process.exitCode = code;
  process.emit('exit', code);
  return addon.exitNow(typeof process.exitCode === 'number' ? process.exitCode : code);
}
