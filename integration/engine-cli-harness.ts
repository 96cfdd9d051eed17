// Running the real `ctnet` CLI in a sandbox: every command goes through `nsenter --net=<sandbox
// host>` with its own state root (CTNET_ROOT) and NAT state dir, so containers, bridges, rules and
// the DNS responder all live in the throwaway namespace. Teardown does not rely on ctnet: it kills
// the processes the records name (started by this test), unmounts the namespace files and removes
// the root, even when the test failed half-way.
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox, ctnetBin } from './sandbox.js';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliSandbox {
  sb: Sandbox;
  root: string;
  /** Runs `ctnet ARGS` in the sandbox; never rejects. */
  ctnet(args: string[], opts?: { input?: string; timeout?: number }): Promise<CliResult>;
  /** Like ctnet, but fails the test with ctnet's stderr unless it exits 0; resolves with stdout. */
  ok(args: string[], opts?: { input?: string }): Promise<string>;
  /** stdout of a command run in a container (ctnet exec), retried until it succeeds (servers starting up). */
  execUntil(name: string, command: string[], opts?: { input?: string; attempts?: number }): Promise<string>;
  /** A command in the sandbox host namespace, retried until it succeeds. */
  hostUntil(command: string[], opts?: { attempts?: number }): Promise<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function killRecorded(root: string): void {
  const dir = join(root, 'containers');
  const pids: number[] = [];
  for (const id of existsSync(dir) ? readdirSync(dir) : []) {
    try {
      const r = JSON.parse(readFileSync(join(dir, id, 'config.json'), 'utf8'));
      if (r.pid) pids.push(r.pid);
    } catch {
      // no record written
    }
  }
  const dnsPid = join(root, 'dns', 'responder.pid');
  if (existsSync(dnsPid)) pids.push(Number(readFileSync(dnsPid, 'utf8').split('\n')[0]));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function cliSandbox(t: ExecutionContext, opts: { configFile?: string } = {}): Promise<CliSandbox> {
  const sb = await Sandbox.create(t);
  const root = mkdtempSync(join(tmpdir(), `${sb.name}-root-`));
  t.teardown(async () => {
    killRecorded(root);
    const netnsDir = join(root, 'netns');
    for (const f of existsSync(netnsDir) ? readdirSync(netnsDir) : []) await execa('umount', ['--lazy', join(netnsDir, f)], { reject: false });
    rmSync(root, { recursive: true, force: true });
  });
  const env = { CTNET_ROOT: root, CTNET_NAT_DATA_DIR: sb.stateDir, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  const ctnet = async (args: string[], o: { input?: string; timeout?: number } = {}): Promise<CliResult> => {
    const full = opts.configFile ? ['--config', opts.configFile, ...args] : args;
    const r = await execa('nsenter', [`--net=${sb.hostPath}`, '--', ctnetBin, ...full], { env, extendEnv: false, reject: false, input: o.input ?? '', timeout: o.timeout ?? 120_000 });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = async (args: string[], o: { input?: string } = {}) => {
    const r = await ctnet(args, o);
    if (r.exitCode !== 0) throw new Error(`ctnet ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
    return r.stdout;
  };
  const until = async (what: string, attempt: () => Promise<CliResult>, attempts = 50): Promise<string> => {
    let last: CliResult | undefined;
    for (let i = 0; i < attempts; i++) {
      last = await attempt();
      if (last.exitCode === 0) return last.stdout;
      await sleep(100);
    }
    throw new Error(`${what} kept failing: exit ${last?.exitCode}: ${last?.stderr}`);
  };
  const execUntil = (name: string, command: string[], o: { input?: string; attempts?: number } = {}) =>
    until(`ctnet exec ${name} ${command.join(' ')}`, () => ctnet(['exec', name, '--', ...command], { input: o.input ?? '' }), o.attempts);
  const hostUntil = (command: string[], o: { attempts?: number } = {}) =>
    until(command.join(' '), async () => {
      const r = await sb.exec(command[0]!, command.slice(1), sb.hostPath, { reject: false, timeout: 10_000 });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    }, o.attempts);
  return { sb, root, ctnet, ok, execUntil, hostUntil };
}

/** An HTTP server for a container: busybox httpd serving a directory with an index.html that says `body`. */
export function httpServer(t: ExecutionContext, body: string): { dir: string; command: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-www-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), `${body}\n`);
  return { dir, command: ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', dir] };
}

/** A line echo server on a TCP port (for container commands). */
export const echoServer = (port: number): string[] => ['socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'EXEC:cat'];

/** One line to address:port from inside a container; resolves with the answer, or rejects. */
export const sendLine = (port: number, address: string): string[] => ['socat', '-T', '2', '-', `TCP:${address}:${port},connect-timeout=2`];
