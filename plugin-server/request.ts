// A plugin shim's request (native/cni-shim.c) and whether a worker may run it. A worker must run
// exactly what the shim would have run as `node start.cjs <bundle>`: the same node, for a process
// that sees the same files, processes and namespaces, with no more privilege than it has. Anything
// else is declined, and the shim then starts node itself.
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';

export interface PluginRequest {
  node: string;
  start: string;
  bundle: string;
  cwd: string;
  umask: number;
  args: string[];
  env: Record<string, string>;
}

/** The payload: NUL-terminated node, start.cjs, bundle, cwd, umask (octal), argc, the arguments, then `KEY=value` pairs. */
export function parseRequest(payload: Buffer): PluginRequest {
  const fields = payload.toString('utf8').split('\0');
  if (fields.pop() !== '') throw new Error('request does not end with a NUL');
  const [node, start, bundle, cwd, umask, argc, ...rest] = fields;
  const count = Number(argc);
  if (rest.length < count || !Number.isInteger(count) || count < 0 || !/^[0-7]{1,4}$/.test(umask ?? '') || [node, start, bundle, cwd].some((f) => !f?.startsWith('/'))) {
    throw new Error('malformed request');
  }
  const env: Record<string, string> = {};
  for (const pair of rest.slice(count)) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { node: node!, start: start!, bundle: bundle!, cwd: cwd!, umask: parseInt(umask!, 8), args: rest.slice(0, count), env };
}

/** The namespaces a plugin's paths, pids and privileges are read in (the network one is the socket's own). */
const NAMESPACES = ['net', 'mnt', 'pid', 'user', 'cgroup', 'ipc', 'uts'] as const;

export interface Peer {
  pid: number;
  uid: number;
}

export interface Identity {
  uid: number;
  namespaces: string[];
  root: string;
  capabilities: bigint;
  node: string;
}

/** What a peer must share with `pid` (this process: 'self'), read while the worker waits. */
export function identity(pid: string): Identity {
  return {
    uid: process.geteuid?.() ?? -1,
    namespaces: NAMESPACES.map((ns) => readlinkSync(`/proc/${pid}/ns/${ns}`)),
    root: readlinkSync(`/proc/${pid}/root`),
    capabilities: effectiveCapabilities(pid),
    node: realpathSync(process.execPath),
  };
}

/** Why a worker whose identity is `own` must not run `request` for `peer`, or undefined when it may. */
export function refusal(request: PluginRequest, peer: Peer, own: Identity): string | undefined {
  if (peer.uid !== own.uid) return `uid ${peer.uid} is not this server's (${own.uid})`;
  if (peer.pid <= 0) return 'the peer\'s pid is not visible here';
  try {
    for (const [i, ns] of NAMESPACES.entries()) {
      if (readlinkSync(`/proc/${peer.pid}/ns/${ns}`) !== own.namespaces[i]) return `another ${ns} namespace`;
    }
    if (readlinkSync(`/proc/${peer.pid}/root`) !== own.root) return 'another root directory';
    if ((effectiveCapabilities(String(peer.pid)) & own.capabilities) !== own.capabilities) return 'fewer capabilities than this server';
    if (realpathSync(request.node) !== own.node) return `another node (${request.node})`;
  } catch (err) {
    return `cannot inspect the peer: ${(err as Error).message}`;
  }
  return undefined;
}

function effectiveCapabilities(pid: string): bigint {
  const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no CapEff in /proc/${pid}/status`);
  return BigInt(`0x${line[1]}`);
}
