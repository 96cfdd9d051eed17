// Runs another CNI plugin found on CNI_PATH (a foreign IPAM type, or any chained plugin), passing
// the same environment with the command overridden, and reads its result or error. execPlugin and
// decodeResult are the shared exec-and-decode step, also used by the engine's runtime (engine/).
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { CmdArgs } from './skel.js';
import { CniError, ErrorCode } from './errors.js';
import type { NetConf, Result } from './types.js';
import { fromWire, toWire } from './version.js';

/** The first executable named `type` on the plugin path. */
export function findPlugin(type: string, path: readonly string[]): string {
  if (!type || type.includes('/') || type === '.' || type === '..') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid plugin type ${JSON.stringify(type)}`);
  }
  for (const dir of path) {
    const candidate = join(dir, type);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new CniError(ErrorCode.InvalidEnvironment, `failed to find plugin ${JSON.stringify(type)} in CNI_PATH [${path.join(' ')}]`);
}

export interface DelegateOptions {
  command?: CmdArgs['command'];
  /** Environment to pass (defaults to this process's). */
  env?: Record<string, string | undefined>;
}

export interface ExecRequest {
  /** The plugin's name, for messages. */
  type: string;
  /** The executable (from findPlugin). */
  file: string;
  /** The whole environment of the plugin process. */
  env: Record<string, string | undefined>;
  stdin: string;
  /** Run the plugin through this command, e.g. ['nsenter', '--net=/run/netns/x', '--']. */
  prefix?: readonly string[];
  timeoutMs?: number;
}

/**
 * Runs a plugin executable and returns its stdout (trimmed). A failure becomes a CniError with the
 * plugin's own code, msg and details when it printed a spec error, else code 999 naming the exit.
 */
export async function execPlugin(req: ExecRequest): Promise<string> {
  const { execa } = await import('execa');
  const [cmd, ...args] = [...(req.prefix ?? []), req.file];
  const r = await execa(cmd!, args, {
    env: req.env,
    extendEnv: false,
    input: req.stdin,
    reject: false,
    stripFinalNewline: true,
    ...(req.timeoutMs ? { timeout: req.timeoutMs } : {}),
  });
  const out = r.stdout.trim();
  if (r.exitCode !== 0) {
    let parsed: { code?: unknown; msg?: unknown; details?: unknown } | undefined;
    try {
      parsed = JSON.parse(out);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed.code === 'number' && typeof parsed.msg === 'string') {
      throw new CniError(parsed.code, parsed.msg, typeof parsed.details === 'string' ? parsed.details : undefined);
    }
    const why = r.timedOut
      ? `timed out after ${req.timeoutMs} ms`
      : r.signal
        ? `was killed by ${r.signal}`
        : r.exitCode === undefined
          ? `could not be run: ${r.shortMessage}`
          : `exited with status ${r.exitCode}`;
    throw new CniError(ErrorCode.Internal, `plugin ${req.type} ${why}`, (r.stderr || out).slice(0, 2000) || undefined);
  }
  return out;
}

/** A plugin's ADD output as a result in the internal shape (its own cniVersion, else `fallbackVersion`). */
export function decodeResult(out: string, type: string, fallbackVersion: string): Result {
  let raw: unknown;
  try {
    raw = JSON.parse(out);
  } catch {
    throw new CniError(ErrorCode.DecodingFailure, `plugin ${type} printed a result that is not JSON`, out.slice(0, 2000));
  }
  const version = (raw as { cniVersion?: unknown } | null)?.cniVersion;
  return fromWire(raw, typeof version === 'string' ? version : fallbackVersion, `result of plugin ${type}`);
}

/**
 * Runs plugin `type` with `conf` on stdin (an IPAM plugin gets its caller's whole config, as the
 * reference plugins do). Returns its result (internal shape) for ADD, undefined otherwise; a plugin
 * error becomes a CniError with the delegate's own code and message.
 */
export async function delegate(type: string, conf: NetConf, args: CmdArgs, opts: DelegateOptions = {}): Promise<Result | undefined> {
  const file = findPlugin(type, args.path);
  const command = opts.command ?? args.command;
  // prevResult travels in the config's own version, as the runtime sent it.
  const stdin = conf.prevResult ? { ...conf, prevResult: toWire(conf.prevResult, conf.cniVersion) } : conf;
  const out = await execPlugin({ type, file, env: { ...(opts.env ?? process.env), CNI_COMMAND: command }, stdin: JSON.stringify(stdin) });
  return command === 'ADD' ? decodeResult(out, type, conf.cniVersion) : undefined;
}
