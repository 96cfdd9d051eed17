// Shared fixtures for the IPAM tests: configs, command args and throwaway data dirs.
import type { ExecutionContext } from 'ava';
import { type ResultPromise, execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CmdArgs } from '../cni/skel.js';
import type { DNS, NetConf, Route } from '../cni/types.js';
import { loadIpamConfig } from './config.js';
import type { RangeSet } from './range.js';

/** A host-local network config; `ipam` fields are merged over a `type`. */
export function netConf(ipam: Record<string, unknown>, extra: Partial<NetConf> = {}): NetConf {
  return { cniVersion: '1.1.0', name: 'n1', type: 'bridge', ipam: { type: 'host-local', ...ipam }, ...extra };
}

/** The validated range sets of `ranges` (an `ipam.ranges` value). */
export const rangeSetsOf = (ranges: unknown): RangeSet[] => loadIpamConfig(netConf({ ranges })).rangeSets;

export function cmdArgs(command: CmdArgs['command'], containerId = 'c1', ifname = 'eth0', args: Record<string, string> = {}): CmdArgs {
  return { command, containerId, ifname, netns: '/var/run/netns/test', args: new Map(Object.entries(args)), path: [] };
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: ExecutionContext, prefix = 'ctnet-ipam-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- running the plugin executables (integration/ipam-*.test.ts) ----------------------------

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** ctnet's launcher, written by `npm run build`. */
export const ctnetHostLocal = join(repoRoot, 'bin', 'cni', 'host-local');
/** The reference Go plugin (Debian's containernetworking-plugins). */
export const referenceHostLocal = '/usr/lib/cni/host-local';

export interface HostLocalRun {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  config: unknown;
  containerId?: string;
  ifname?: string;
  cniArgs?: string;
  env?: Record<string, string>;
  /** The executable: ctnet's by default. */
  bin?: string;
}

export interface HostLocalOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON (a result or an error), undefined when empty. */
  json: PluginJson | undefined;
}

/** What host-local prints, in any spec version: a result, or an error. */
export interface PluginJson {
  cniVersion?: string;
  code?: number;
  msg?: string;
  ips?: { address: string; gateway?: string; version?: string; interface?: number }[];
  routes?: Route[];
  dns?: DNS;
  interfaces?: unknown[];
  [key: string]: unknown;
}

/** Starts one plugin process as a runtime would; the caller owns (and may kill) the subprocess. */
export function startHostLocal(run: HostLocalRun): ResultPromise<{ reject: false; extendEnv: false }> {
  const perContainer = run.command === 'ADD' || run.command === 'DEL' || run.command === 'CHECK';
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: run.command,
    CNI_PATH: dirname(run.bin ?? ctnetHostLocal),
    ...(perContainer ? { CNI_CONTAINERID: run.containerId ?? 'c1', CNI_IFNAME: run.ifname ?? 'eth0' } : {}),
    // host-local never enters the namespace; the path only has to be plausible.
    ...(run.command === 'ADD' || run.command === 'CHECK' ? { CNI_NETNS: '/var/run/netns/ctnet-ipam-test' } : {}),
    ...(run.cniArgs ? { CNI_ARGS: run.cniArgs } : {}),
    ...run.env,
  };
  return execa(run.bin ?? ctnetHostLocal, [], { env, extendEnv: false, input: JSON.stringify(run.config), reject: false, timeout: 90_000 });
}

export async function runHostLocal(run: HostLocalRun): Promise<HostLocalOutput> {
  const r = await startHostLocal(run);
  let json: PluginJson | undefined;
  try {
    json = r.stdout ? (JSON.parse(r.stdout) as PluginJson) : undefined;
  } catch {
    json = undefined;
  }
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** Fails the test file early, with the fix, when the plugin has not been built. */
export function requireBuiltPlugin(): void {
  if (!existsSync(ctnetHostLocal)) throw new Error(`${ctnetHostLocal} is missing: run \`npm run build\` first`);
}
