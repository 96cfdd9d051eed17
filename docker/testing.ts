// Test harness: dockerd and the ctnet Docker plugin inside a throwaway sandbox namespace, with their
// own directories, and a busybox image. Everything is torn down by PID and path, in order, even when
// the test fails: containers, dockerd, its containerd and shims, the plugin and its socket, mounts
// under the test's directory, the directory, the namespaces.
//
// dockerd runs with --iptables=false: its own rules concern its own bridges, and the tests are about
// the plugin's. What its iptables mode does to everyone else, a FORWARD policy of DROP, the sandbox
// sets itself, so every test proves the plugin's networks work under it.
import type { ExecutionContext } from 'ava';
import { execa, type ResultPromise } from 'execa';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Container, Sandbox, ctnetBin, repoRoot } from '../integration/sandbox.js';
import { DATA_DIR_ENV } from '../nat/index.js';
import type { PluginState } from './state.js';

export const BUSYBOX = '/bin/busybox';
export const IMAGE = 'bb:latest';
const APPLETS = ['sh', 'httpd', 'wget', 'nc', 'sleep', 'cat', 'echo', 'ip', 'ifconfig', 'ls', 'nslookup', 'ping', 'printf', 'tail'];
export const PAGE = 'hello-ctnet';
export const PLUGIN_SOCKET_DIR = '/run/docker/plugins';
export { OUTSIDE } from '../integration/sandbox.js';
/** Where the tests' networks live: the outside routes it back through the host. */
export const TEST_SUBNETS = '10.201.0.0/16';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (!alive(pid)) return true;
  return !alive(pid);
}

/** SIGTERM, then SIGKILL after graceMs. */
async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitGone(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
  await waitGone(pid, 2000);
}

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** Processes whose command line mentions `path` (containerd shims of this test's exec root). */
function processesMentioning(path: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Mount points at or under dir, deepest first. */
function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines.map((l) => l.split(' ')[4] ?? '').filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function buildRootfs(root: string): void {
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const d of ['www', 'etc', 'tmp']) mkdirSync(join(root, d));
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'www', 'index.html'), `${PAGE}\n`);
}

export class DockerSandbox {
  readonly dir: string;
  readonly socket: string;
  readonly stateDir: string;
  readonly pluginSocket: string;
  private dockerdPid: number | undefined;
  private plugin: ResultPromise | undefined;

  private constructor(
    readonly sb: Sandbox,
    readonly pluginName: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ctnet-docker-'));
    this.socket = join(this.dir, 'docker.sock');
    this.stateDir = join(this.dir, 'plugin-state');
    this.pluginSocket = join(PLUGIN_SOCKET_DIR, `${pluginName}.sock`);
    for (const d of ['data', 'exec', 'cli']) mkdirSync(join(this.dir, d));
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
  }

  /** A sandbox with the plugin and dockerd running and the busybox image imported. */
  static async start(t: ExecutionContext): Promise<DockerSandbox> {
    const sb = await Sandbox.create();
    const d = new DockerSandbox(sb, `ctnet-test-${sb.id}`);
    t.teardown(() => d.destroy());
    for (const cmd of ['iptables', 'ip6tables']) await sb.exec(cmd, ['-w', '-P', 'FORWARD', 'DROP']);
    await d.startPlugin();
    await d.startDockerd();
    await d.importImage();
    return d;
  }

  /** The docker CLI against this sandbox's dockerd. */
  docker(args: string[], opts: { reject?: boolean; timeout?: number } = {}) {
    return execa('docker', ['-H', `unix://${this.socket}`, ...args], {
      env: { DOCKER_CONFIG: join(this.dir, 'cli') },
      timeout: opts.timeout ?? 60_000,
      reject: opts.reject ?? true,
    });
  }

  /** A command in the sandbox's host namespace. */
  host(cmd: string, args: string[]) {
    return this.sb.exec(cmd, args);
  }

  async startPlugin(): Promise<void> {
    const log = { file: join(this.dir, 'plugin.log'), append: true } as const;
    this.plugin = execa(
      'nsenter',
      [`--net=${this.sb.hostPath}`, '--', ctnetBin, 'docker-plugin', '--name', this.pluginName, '--state-dir', this.stateDir, '--socket-dir', PLUGIN_SOCKET_DIR],
      // Firewall records and port reservations describe this sandbox's kernel state: its own directory.
      { cwd: repoRoot, stdin: 'ignore', stdout: log, stderr: log, reject: false, env: { CTNET_DEBUG: '1', [DATA_DIR_ENV]: this.sb.stateDir } },
    );
    const deadline = Date.now() + 15_000;
    while (!(await this.pluginAnswers())) {
      if (this.plugin.exitCode !== null || Date.now() > deadline) throw new Error(`the plugin did not come up:\n${this.logs('plugin')}`);
      await sleep(50);
    }
  }

  private pluginAnswers(): Promise<boolean> {
    if (!existsSync(this.pluginSocket)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const s = connect(this.pluginSocket);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  /** A plugin method, called as dockerd calls it; resolves with the JSON reply. */
  pluginCall<T>(method: string, body: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.pluginSocket, path: `/${method}`, method: 'POST' }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text) as T));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  /** SIGKILL: no chance to clean up, as after a crash. */
  async killPlugin(): Promise<void> {
    const pid = this.plugin?.pid;
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    await this.plugin;
    this.plugin = undefined;
  }

  async startDockerd(): Promise<void> {
    const log = { file: join(this.dir, 'dockerd.log'), append: true } as const;
    const args = [
      ...['--config-file', join(this.dir, 'daemon.json')],
      ...['--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec')],
      ...['--pidfile', join(this.dir, 'dockerd.pid'), '-H', `unix://${this.socket}`],
      ...['--storage-driver', 'vfs'],
      // No docker0: the test is about the plugin's networks.
      ...['--bridge', 'none'],
      // See the top of the file: the sandbox stands in for dockerd's FORWARD policy.
      '--iptables=false',
      // Containers outlive a dockerd restart, as production setups that restart dockerd have it.
      '--live-restore',
    ];
    const child = execa('nsenter', [`--net=${this.sb.hostPath}`, '--', 'dockerd', ...args], { stdin: 'ignore', stdout: log, stderr: log, reject: false });
    void child.catch(() => {});
    this.dockerdPid = child.pid;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await this.docker(['version', '--format', '{{.Server.Version}}'], { reject: false, timeout: 5000 });
      if (r.exitCode === 0) return;
      if (!this.dockerdPid || !alive(this.dockerdPid) || Date.now() > deadline) throw new Error(`dockerd did not come up:\n${this.logs('dockerd')}`);
      await sleep(100);
    }
  }

  /** Stops dockerd (SIGTERM) and its containerd; with --live-restore the containers keep running. */
  async stopDockerd(): Promise<void> {
    // nsenter execs dockerd, so the PID it was started with is dockerd's (the one in its pid file);
    // a pid file left by an earlier dockerd is never trusted, its PID may be someone else's by now.
    const pid = this.dockerdPid;
    if (pid === undefined) return;
    const children = childrenOf(pid);
    await stopPid(pid, 15_000);
    for (const c of children) await stopPid(c, 5000);
    this.dockerdPid = undefined;
  }

  async importImage(): Promise<void> {
    const root = join(this.dir, 'rootfs');
    buildRootfs(root);
    const tar = join(this.dir, 'rootfs.tar');
    await execa('tar', ['-C', root, '-cf', tar, '.']);
    await this.docker(['import', tar, IMAGE]);
  }

  /** The plugin's state file as it is now. */
  state(): PluginState {
    return JSON.parse(readFileSync(join(this.stateDir, 'state.json'), 'utf8')) as PluginState;
  }

  /** The IPAM store's pool directories. */
  poolDirs(): string[] {
    const dir = join(this.stateDir, 'ipam');
    return existsSync(dir) ? readdirSync(dir) : [];
  }

  /** The outside namespace (Sandbox.outside), routing the tests' networks back through the host. */
  outside(): Promise<Container> {
    return this.sb.outside(TEST_SUBNETS);
  }

  /** The sandbox's IPv4 and IPv6 rulesets without counters, for before/after comparisons. */
  async ruleset(): Promise<string> {
    const dumps = await Promise.all(['iptables-save', 'ip6tables-save'].map((cmd) => this.host(cmd, [])));
    return dumps
      .flatMap((r) => r.stdout.split('\n'))
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
      .join('\n');
  }

  /** Links of the sandbox host namespace, by name (no lo). */
  async links(): Promise<string[]> {
    const r = await this.host('ip', ['-o', 'link', 'show']);
    return r.stdout
      .split('\n')
      .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
      .filter((n): n is string => !!n && n !== 'lo');
  }

  /** The last `lines` lines of the plugin's (every request it served, with CTNET_DEBUG) or dockerd's log. */
  logs(which: 'plugin' | 'dockerd', lines = 40): string {
    try {
      return readFileSync(join(this.dir, `${which}.log`), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** What a failed test prints: the plugin's requests and dockerd's side of them, enough to follow a protocol exchange. */
  failureReport(): string {
    return `plugin log:\n${this.logs('plugin', 150)}\n\ndockerd log:\n${this.logs('dockerd', 80)}`;
  }

  async destroy(): Promise<void> {
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`docker sandbox teardown: ${what}: ${(err as Error).message}\n`);
      }
    };
    if (this.dockerdPid !== undefined && alive(this.dockerdPid)) {
      await step('remove containers', async () => {
        const ids = (await this.docker(['ps', '-aq'], { reject: false, timeout: 10_000 })).stdout.split('\n').filter(Boolean);
        if (ids.length) await this.docker(['rm', '-f', ...ids], { reject: false, timeout: 30_000 });
      });
    }
    await step('stop dockerd', () => this.stopDockerd());
    // Shims of containers that outlived dockerd (live-restore), found by this test's exec root.
    await step('stop shims', async () => {
      for (const pid of processesMentioning(join(this.dir, 'exec'))) await stopPid(pid, 5000);
    });
    await step('stop the plugin', async () => {
      const pid = this.plugin?.pid;
      if (pid !== undefined) await stopPid(pid, 5000);
    });
    await step('remove the plugin socket', () => rmSync(this.pluginSocket, { force: true }));
    await step('unmount', async () => {
      for (const m of mountsUnder(this.dir)) {
        const r = await execa('umount', ['-R', m], { reject: false });
        if (r.exitCode !== 0) await execa('umount', ['-l', m], { reject: false });
      }
    });
    await step('remove the directory', () => rmSync(this.dir, { recursive: true, force: true }));
    await step('delete namespaces', () => this.sb.destroy());
  }
}
