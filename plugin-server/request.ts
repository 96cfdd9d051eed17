// A plugin shim's request (native/cni-shim.c) and whether a worker may run it. A worker must run
// exactly what the shim would have run as `node start.cjs <bundle>`: the same node and the same
// checkout's code, for a process that sees the same files, processes and namespaces, with no more
// privilege and no less confinement than it has. Anything else is declined, and the shim then
// starts node itself.
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

/**
 * What node reads as it starts (its own NODE_EXTRA_CA_CERTS aside, which the executable clears):
 * a worker has started already without them, so a run that sets one must start its own node.
 */
const NODE_STARTUP_VARIABLES = [
  'NODE_OPTIONS',
  'NODE_V8_COVERAGE',
  'NODE_DEBUG',
  'NODE_DEBUG_NATIVE',
  'NODE_PATH',
  'NODE_ICU_DATA',
  'NODE_PRESERVE_SYMLINKS',
  'NODE_PRESERVE_SYMLINKS_MAIN',
  'NODE_PENDING_DEPRECATION',
  'NODE_NO_WARNINGS',
  'NODE_REDIRECT_WARNINGS',
  'NODE_CHANNEL_FD',
  'NODE_UNIQUE_ID',
];

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
  /** The LSM context (AppArmor, SELinux; '' without one), and the seccomp and no_new_privs state. */
  confinement: string;
  capabilities: bigint;
  node: string;
  /** Where this checkout's builds are (the parent of the build directory): the code a worker runs comes from one. */
  builds: string;
}

/** What a peer must share with this process, whose build directory is `buildDir`; read while the worker waits. */
export function identity(buildDir: string): Identity {
  const status = readFileSync('/proc/self/status', 'utf8');
  return {
    uid: process.geteuid?.() ?? -1,
    namespaces: NAMESPACES.map((ns) => readlinkSync(`/proc/self/ns/${ns}`)),
    root: readlinkSync('/proc/self/root'),
    confinement: confinement('self', status),
    capabilities: effectiveCapabilities(status),
    node: realpathSync(process.execPath),
    builds: dirname(realpathSync(buildDir)),
  };
}

/**
 * Why a worker whose identity is `own` must not run `request` for `peer`, or undefined when it may:
 * it runs only what the peer could have run itself, as itself, and only this checkout's code (a
 * confined caller must not get its own script run unconfined).
 */
export function refusal(request: PluginRequest, peer: Peer, own: Identity): string | undefined {
  if (peer.uid !== own.uid) return `uid ${peer.uid} is not this server's (${own.uid})`;
  if (peer.pid <= 0) return 'the peer\'s pid is not visible here';
  const startupVariable = NODE_STARTUP_VARIABLES.find((k) => request.env[k] !== undefined && request.env[k] !== '');
  if (startupVariable) return `${startupVariable} is set: node's start would differ`;
  try {
    for (const [i, ns] of NAMESPACES.entries()) {
      if (readlinkSync(`/proc/${peer.pid}/ns/${ns}`) !== own.namespaces[i]) return `another ${ns} namespace`;
    }
    if (readlinkSync(`/proc/${peer.pid}/root`) !== own.root) return 'another root directory';
    const status = readFileSync(`/proc/${peer.pid}/status`, 'utf8');
    if (confinement(String(peer.pid), status) !== own.confinement) return 'another security context, seccomp or no_new_privs state';
    if ((effectiveCapabilities(status) & own.capabilities) !== own.capabilities) return 'fewer capabilities than this server';
    if (realpathSync(request.node) !== own.node) return `another node (${request.node})`;
    const start = realpathSync(request.start);
    const build = dirname(start);
    if (basename(start) !== 'start.cjs' || dirname(build) !== own.builds || dirname(realpathSync(request.bundle)) !== join(build, 'plugins')) {
      return `not a plugin of this checkout's builds (${request.bundle})`;
    }
  } catch (err) {
    return `cannot inspect the peer: ${(err as Error).message}`;
  }
  return undefined;
}

function confinement(pid: string, status: string): string {
  let lsm: string;
  try {
    lsm = readFileSync(`/proc/${pid}/attr/current`, 'utf8');
  } catch {
    lsm = ''; // no LSM (EINVAL), the same for every process
  }
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
  return `${lsm.trim()} seccomp=${field('Seccomp')} nnp=${field('NoNewPrivs')}`;
}

function effectiveCapabilities(status: string): bigint {
  const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (!line) throw new Error('no CapEff in the process status');
  return BigInt(`0x${line[1]}`);
}
