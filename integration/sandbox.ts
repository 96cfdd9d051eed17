// The test sandbox: a throwaway "host" network namespace per test, with container namespaces
// beside it. Plugins run inside the host namespace (nsenter --net, which switches only the network
// namespace, so /run/netns bind mounts stay visible). Everything is removed in t.teardown, even
// when the test fails; processes started here are ended by PID.
import type { ExecutionContext } from 'ava';
import { execa, type ResultPromise } from 'execa';
import { customAlphabet } from 'nanoid';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const cniBin = join(repoRoot, 'bin', 'cni');
export const ctnetBin = join(repoRoot, 'bin', 'ctnet');
/** Debian's containernetworking-plugins: the reference Go plugins, used as an oracle. */
export const referenceCniBin = '/usr/lib/cni';

/** The link between a sandbox host and its "outside" namespace (another machine, the internet). */
export const OUTSIDE = { host: '198.51.100.1', peer: '198.51.100.2', prefix: 24 } as const;

/**
 * Every sandbox namespace starts with this; the guard looks for leftovers by it. The test wrapper
 * tags its run, so concurrent runs on one machine never mistake each other's namespaces for leftovers.
 */
export const SANDBOX_PREFIX = `ctnet-t-${process.env.CTNET_TEST_RUN ? `${process.env.CTNET_TEST_RUN}-` : ''}`;
const shortId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 8);

export interface PluginRun {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION' | string;
  config?: unknown;
  /** Raw stdin, used instead of config when given (for malformed-input tests). */
  stdin?: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  cniArgs?: string;
  cniPath?: string;
  /** Extra variables; a value of undefined removes a default one. */
  env?: Record<string, string | undefined>;
  /** Plugin directory: ctnet's bin/cni by default, referenceCniBin for the Go plugins. */
  binDir?: string;
}

export interface PluginOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when empty or not JSON. */
  json: any;
}

export interface Container {
  name: string;
  path: string;
}

/** The pids of the processes whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'))?.[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

export class Sandbox {
  readonly name: string;
  readonly hostPath: string;
  /**
   * The host's ctnet state (firewall records, port reservations): it describes this namespace's
   * kernel state, so each sandbox has its own, as each machine has its /run/cni/ctnet.
   */
  readonly stateDir: string;
  private readonly namespaces: string[] = [];
  private readonly processes: ResultPromise[] = [];
  private destroyed = false;

  private constructor(readonly id: string) {
    this.name = `${SANDBOX_PREFIX}${id}`;
    this.hostPath = `/run/netns/${this.name}`;
    this.stateDir = mkdtempSync(join(tmpdir(), `${this.name}-`));
  }

  /** Creates the host namespace (lo up) and registers its removal on t.teardown. */
  static async create(t?: ExecutionContext): Promise<Sandbox> {
    const sb = new Sandbox(shortId());
    t?.teardown(() => sb.destroy());
    await sb.addNamespace(sb.name);
    await execa('ip', ['-n', sb.name, 'link', 'set', 'lo', 'up']);
    return sb;
  }

  private async addNamespace(name: string): Promise<void> {
    if (this.destroyed) throw new Error(`sandbox ${this.name} is being destroyed: no new namespace ${name}`);
    this.namespaces.push(name);
    await execa('ip', ['netns', 'add', name]);
    // destroy() ran while this one was being made (a bench interrupted mid-fill): it missed it.
    if (this.destroyed) {
      await execa('ip', ['netns', 'delete', name], { reject: false });
      throw new Error(`sandbox ${this.name} was destroyed while namespace ${name} was being made`);
    }
  }

  /** A fresh container namespace (nothing configured, lo down). */
  async container(suffix = `c${this.namespaces.length}`): Promise<Container> {
    const name = `${this.name}-${suffix}`;
    await this.addNamespace(name);
    return { name, path: `/run/netns/${name}` };
  }

  /**
   * The stand-in "outside": a namespace beside the host, linked to it (veth `uplink`) on OUTSIDE's
   * subnet, with lo up, routing `routeBack` (default: everything) through the host.
   */
  async outside(routeBack = 'default'): Promise<Container> {
    const ns = await this.container('out');
    await this.exec('ip', ['link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.path]);
    await this.exec('ip', ['addr', 'add', `${OUTSIDE.host}/${OUTSIDE.prefix}`, 'dev', 'uplink']);
    await this.exec('ip', ['link', 'set', 'uplink', 'up']);
    await this.exec('ip', ['addr', 'add', `${OUTSIDE.peer}/${OUTSIDE.prefix}`, 'dev', 'eth0'], ns.path);
    for (const dev of ['lo', 'eth0']) await this.exec('ip', ['link', 'set', dev, 'up'], ns.path);
    await this.exec('ip', ['route', 'add', routeBack, 'via', OUTSIDE.host], ns.path);
    return ns;
  }

  /** Runs a command inside a namespace (the host namespace by default); rejects on failure. */
  async exec(cmd: string, args: string[], nsPath = this.hostPath, opts: { input?: string; reject?: boolean; env?: Record<string, string>; timeout?: number } = {}) {
    return execa('nsenter', [`--net=${nsPath}`, '--', cmd, ...args], { reject: opts.reject ?? true, input: opts.input, env: opts.env, timeout: opts.timeout ?? 60_000 });
  }

  /** Starts a long-running process in a namespace; it is ended by PID on teardown. */
  spawn(cmd: string, args: string[], nsPath = this.hostPath): ResultPromise {
    const child = execa('nsenter', [`--net=${nsPath}`, '--', cmd, ...args], { reject: false, stdin: 'ignore' });
    this.processes.push(child);
    return child;
  }

  /**
   * Starts `<ctnet> plugin-server` in the host namespace (the plugins run there then go to its warm
   * workers) and resolves once its spare workers are ready, with its pid and a reader of what it
   * logged so far. destroy() ends it, and its idle workers with it.
   */
  async pluginServer(ctnet: string, args: string[] = []): Promise<{ pid: number; log: () => string }> {
    const server = this.spawn(ctnet, ['plugin-server', ...args]);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the plugin server did not get ready: ${output}`)), 30_000);
      server.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/ready: \d+ spare workers/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void server.then((r) => {
        clearTimeout(timer);
        reject(new Error(`the plugin server exited ${r.exitCode}: ${output}`));
      });
    });
    return { pid: server.pid!, log: () => output };
  }

  /**
   * Starts an echo server on every address family (TCP, or UDP) in a namespace, and waits until it
   * listens. With `reply`, it answers that text instead of echoing (tells servers apart).
   */
  async echoServer(port: number, nsPath = this.hostPath, opts: { udp?: boolean; reply?: string } = {}): Promise<void> {
    const listen = opts.udp ? `UDP6-RECVFROM:${port},fork,reuseaddr` : `TCP6-LISTEN:${port},fork,reuseaddr`;
    const action = opts.reply === undefined ? 'EXEC:cat' : `SYSTEM:echo ${opts.reply.replace(/[^\w.-]/g, '')}`;
    this.spawn('socat', [listen, action], nsPath);
    await this.waitForPort(port, nsPath, opts);
  }

  /**
   * Starts a TCP server in a namespace that answers each connection with the address it came from
   * and appends that address to `file`; waits until it listens. Returns a reader of the addresses
   * logged so far: the log, not a client's captured output, is what a test can rely on (an
   * engine's capture of a short-lived container's stdout loses it now and then).
   */
  async peerLogger(port: number, nsPath: string, file: string): Promise<() => string[]> {
    this.spawn('socat', [`TCP-LISTEN:${port},fork,reuseaddr`, `SYSTEM:echo $SOCAT_PEERADDR >> ${file}; echo $SOCAT_PEERADDR`], nsPath);
    await this.waitForPort(port, nsPath);
    return () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  }

  /** Waits until something listens on the port inside the namespace. */
  async waitForPort(port: number, nsPath = this.hostPath, opts: { udp?: boolean } = {}): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const r = await this.exec('ss', [opts.udp ? '-Hlun' : '-Hltn', `sport = :${port}`], nsPath, { reject: false });
      if (r.stdout.trim()) return;
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`nothing listens on port ${port} in ${nsPath}`);
  }

  /**
   * Sends a line from a namespace to address:port and returns the answer (trimmed), or throws
   * after the attempts. Each attempt is bounded by a few seconds.
   */
  async send(fromPath: string, address: string, port: number, line: string, opts: { udp?: boolean; attempts?: number } = {}): Promise<string> {
    const host = address.includes(':') ? `[${address}]` : address;
    const target = `${opts.udp ? 'UDP' : 'TCP'}:${host}:${port}`;
    const attempts = opts.attempts ?? 20;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const r = await this.exec('socat', ['-T', '2', '-', target], fromPath, { input: `${line}\n`, reject: false, timeout: 10_000 });
      if (r.exitCode === 0 && r.stdout.trim()) return r.stdout.trim();
      last = r.stderr || `exit ${r.exitCode}, no answer`;
      if (attempt < attempts) await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`no answer from ${target} in ${fromPath}: ${last}`);
  }

  /** Runs a CNI plugin as a runtime would: inside the host namespace, env in, config on stdin. */
  async plugin(type: string, run: PluginRun): Promise<PluginOutput> {
    const binDir = run.binDir ?? cniBin;
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      CNI_COMMAND: run.command,
      CNI_CONTAINERID: run.containerId,
      CNI_NETNS: run.netns,
      CNI_IFNAME: run.ifname ?? (run.command === 'VERSION' ? undefined : 'eth0'),
      CNI_ARGS: run.cniArgs,
      CNI_PATH: run.cniPath ?? binDir,
      CTNET_NAT_DATA_DIR: this.stateDir,
      ...run.env,
    };
    const clean = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
    const input = run.stdin ?? (run.config === undefined ? '' : JSON.stringify(run.config));
    const r = await execa('nsenter', [`--net=${this.hostPath}`, '--', join(binDir, type)], {
      env: clean,
      extendEnv: false,
      input,
      reject: false,
      timeout: 60_000,
    });
    let json: unknown;
    try {
      json = r.stdout ? JSON.parse(r.stdout) : undefined;
    } catch {
      json = undefined;
    }
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, json };
  }

  /** Ends started processes, then deletes every namespace made here (container ones first) and the state dir. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const p of this.processes) {
      if (p.pid !== undefined && p.exitCode === null) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await Promise.allSettled(this.processes);
    for (const name of [...this.namespaces].reverse()) {
      await execa('ip', ['netns', 'delete', name], { reject: false });
    }
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
