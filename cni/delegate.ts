// Runs another CNI plugin found on CNI_PATH (a foreign IPAM type, or any chained plugin), passing
// the same environment with the command overridden, and reads its result or error.
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
  const { execa } = await import('execa');
  const r = await execa(file, [], {
    env: { ...(opts.env ?? process.env), CNI_COMMAND: command },
    extendEnv: false,
    input: JSON.stringify(stdin),
    reject: false,
    stripFinalNewline: true,
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
    const why = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`;
    throw new CniError(ErrorCode.Internal, `plugin ${type} ${why}`, (r.stderr || out).slice(0, 2000) || undefined);
  }
  if (command !== 'ADD') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(out);
  } catch {
    throw new CniError(ErrorCode.DecodingFailure, `plugin ${type} printed a result that is not JSON`, out.slice(0, 2000));
  }
  const version = (raw as { cniVersion?: unknown }).cniVersion;
  return fromWire(raw, typeof version === 'string' ? version : conf.cniVersion, `result of plugin ${type}`);
}
