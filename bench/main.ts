// `npm run bench`: ctnet against the reference Go plugins, side by side in one run. Every network
// operation happens in throwaway sandbox namespaces (integration/sandbox.ts), removed at the end, on
// failure and on Ctrl-C; the root namespace is snapshotted before and after and must not change.
// Samples of the stacks are interleaved (the order rotates every round), so load from other work on
// the machine hits them alike and the ratios stay meaningful even when absolute times wander.
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import type { Result } from '../cni/types.js';
import { CniRuntime, type PluginRun, type RuntimeConf } from '../engine/runtime.js';
import { GATEWAY, stacks, type Stack, type StackKey } from './stacks.js';
import { quotient, ratio, summarize, table, type Summary } from './stats.js';

// Tag the namespaces before the sandbox module computes its prefix: a concurrent test run's
// leftover guard then never mistakes them for its own.
process.env.CTNET_TEST_RUN ??= `bench${process.pid}`;
const { Sandbox, childPids, referenceCniBin, repoRoot } = await import('../integration/sandbox.js');
const { rootSnapshot } = await import('../integration/root-guard.js');
type Sandbox = Awaited<ReturnType<typeof Sandbox.create>>;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    levels: { type: 'string' },
    samples: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    'startup-samples': { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'results', 'latest.json') },
  },
});
const num = (v: string | undefined, dflt: number) => (v === undefined ? dflt : Number(v));
const cfg = {
  levels: (opt.levels ?? (opt.quick ? '0,50' : '0,100,500')).split(',').map(Number),
  samples: num(opt.samples, opt.quick ? 6 : 15),
  concurrency: num(opt.concurrency, opt.quick ? 20 : 50),
  rounds: num(opt.rounds, opt.quick ? 1 : 2),
  startupSamples: num(opt['startup-samples'], opt.quick ? 8 : 40),
};
/** Every how many measured ADDs one is checked end to end (its published port answers). */
const VERIFY_EVERY = 3;
const FILL_PARALLEL = 4;
const CONTAINER_PORT = 8080;

/** The bench's private build of the plugins: a concurrent `npm run build` cannot replace them mid-run. */
const buildDir = join(repoRoot, 'node_modules', '.cache', 'ctnet-bench');
const cniBin = join(buildDir, 'bin', 'cni');

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const now = () => performance.now();
const rotate = <T>(xs: readonly T[], i: number) => xs.map((_, k) => xs[(k + i) % xs.length]!);

// ---- cleanup: every sandbox is destroyed, whatever happens ----

/**
 * Where ctnet's NAT state (attachment records, port claims) goes. Its default, /run/cni/ctnet, is on
 * tmpfs on a systemd host, so the bench takes a tmpfs too: /run when it is one, else /dev/shm. Only
 * without either does it stay in the sandbox's directory, on disk like the IPAM stores: this VM's
 * root is ext4 without a journal, where each file created after many deletions first looks at every
 * recently deleted inode (~0.3 ms a file once a fill has run), a cost no /run pays.
 */
const TMPFS_MAGIC = 0x01021994;
const natStateRoot = ['/run', '/dev/shm'].find((p) => {
  try {
    return statfsSync(p).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
});

/** Live sandboxes, each with the bench's own directories (IPAM store, result cache; NAT state) beside it. */
const live = new Map<Sandbox, string[]>();
async function newSandbox(): Promise<{ sb: Sandbox; dir: string; natDir: string }> {
  const sb = await Sandbox.create();
  const dir = mkdtempSync(join(tmpdir(), `${sb.name}-bench-`));
  const natDir = natStateRoot ? mkdtempSync(join(natStateRoot, `${sb.name}-nat-`)) : sb.stateDir;
  live.set(sb, natStateRoot ? [dir, natDir] : [dir]);
  return { sb, dir, natDir };
}
async function destroy(sb: Sandbox): Promise<void> {
  const dirs = live.get(sb) ?? [];
  live.delete(sb);
  await sb.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
async function destroyAll(): Promise<void> {
  await Promise.allSettled([...live.keys()].map(destroy));
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: removing the sandboxes`);
    void destroyAll().finally(() => process.exit(130));
  });
}

// ---- one stack in one sandbox ----

interface Bed {
  stack: Stack;
  sb: Sandbox;
  runtime: CniRuntime;
  list: ReturnType<Stack['list']>;
  dir: string;
  natDir: string;
  /** Attached containers (fillers), by number. */
  attached: number;
  seq: number;
  /** Where the runtime reports each plugin execution, while a measurement wants them. */
  runs?: PluginRun[];
  /** The stack's plugin server (a stack with `server`). */
  serverPid?: number | undefined;
}

async function bed(stack: Stack): Promise<Bed> {
  const { sb, dir, natDir } = await newSandbox();
  const b: Bed = { stack, sb, runtime: undefined!, list: stack.list(`cb${sb.id.slice(0, 8)}`, join(dir, 'ipam')), dir, natDir, attached: 0, seq: 0 };
  b.runtime = runtimeFor(b, [], (r) => b.runs?.push(r));
  if (stack.server) b.serverPid = (await sb.pluginServer(join(buildDir, 'bin', 'ctnet'))).pid;
  return b;
}

function runtimeFor(b: Pick<Bed, 'stack' | 'sb' | 'dir' | 'natDir'>, wrap: readonly string[] = [], onPluginRun?: (r: PluginRun) => void): CniRuntime {
  return new CniRuntime({
    pluginPath: [b.stack.binDir],
    cacheDir: join(b.dir, 'cache'),
    execPrefix: [...wrap, 'nsenter', `--net=${b.sb.hostPath}`, '--'],
    env: { ...process.env, CTNET_NAT_DATA_DIR: b.natDir },
    timeoutMs: 120_000,
    ...(onPluginRun ? { onPluginRun } : {}),
  });
}

const attachment = (id: string, netns: string, hostPort: number): RuntimeConf => ({
  containerId: id,
  netns,
  ifname: 'eth0',
  capabilityArgs: { portMappings: [{ hostPort, containerPort: CONTAINER_PORT, protocol: 'tcp' }] },
});

const ipOf = (r: Result) => r.ips?.[0]?.address.split('/')[0] ?? '';

/** The attachment works: a server in the container answers on the published port, through the host. */
async function verify(b: Bed, netns: string, hostPort: number, result: Result): Promise<void> {
  if (!ipOf(result)) throw new Error(`${b.stack.label}: ADD returned no address`);
  const server = b.sb.spawn('socat', [`TCP-LISTEN:${CONTAINER_PORT},fork,reuseaddr`, 'EXEC:cat'], netns);
  try {
    await b.sb.waitForPort(CONTAINER_PORT, netns);
    const answer = await b.sb.send(b.sb.hostPath, GATEWAY, hostPort, 'ping', { attempts: 10 });
    if (answer !== 'ping') throw new Error(`${b.stack.label}: published port ${hostPort} answered ${JSON.stringify(answer)}`);
  } finally {
    if (server.pid !== undefined) process.kill(server.pid, 'SIGKILL');
    await server;
  }
}

/** Attaches fillers until `count` containers are attached, each with its own published port. */
async function fill(b: Bed, count: number): Promise<void> {
  const todo = Array.from({ length: count - b.attached }, (_, k) => b.attached + k);
  const workers = Array.from({ length: FILL_PARALLEL }, async () => {
    for (let k = todo.shift(); k !== undefined; k = todo.shift()) {
      const c = await b.sb.container(`f${k}`);
      const r = await b.runtime.add(b.list, attachment(`fill${k}`, c.path, 20000 + k));
      if (k === 0 || k === count - 1) await verify(b, c.path, 20000 + k, r);
    }
  });
  await Promise.all(workers);
  b.attached = count;
}

async function natRules(sb: Sandbox): Promise<number> {
  let n = 0;
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    n += (await sb.exec(tool, [])).stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
  }
  return n;
}

// ---- start-up ----

const VERSION_STDIN = '{"cniVersion":"1.0.0"}';
const noCa = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS')) as NodeJS.ProcessEnv;

function timeSpawn(file: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t = now();
  const r = spawnSync(file, args, { env, input: VERSION_STDIN, stdio: ['pipe', 'pipe', 'inherit'] });
  const ms = now() - t;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}`);
  return ms;
}

interface StartupRow {
  name: string;
  ctnet?: Summary;
  reference?: Summary;
}

function startup(): { node: Summary; plugins: StartupRow[] } {
  const ctnetPlugins = ['bridge', 'host-local', 'portmap', 'firewall', 'tuning', 'loopback', 'host', 'none', 'container'].filter((p) => existsSync(join(cniBin, p)));
  const refPlugins = ['bridge', 'host-local', 'portmap', 'firewall', 'tuning', 'loopback'];
  // The baseline is node as the launchers run it (NODE_EXTRA_CA_CERTS cleared).
  const probes: Array<[string, () => number]> = [
    ['node -e 0', () => timeSpawn(process.execPath, ['-e', '0'], noCa())],
    ...ctnetPlugins.map((p): [string, () => number] => [`ctnet ${p}`, () => timeSpawn(join(cniBin, p), [], { ...process.env, CNI_COMMAND: 'VERSION' })]),
    ...refPlugins.map((p): [string, () => number] => [`reference ${p}`, () => timeSpawn(join(referenceCniBin, p), [], { ...process.env, CNI_COMMAND: 'VERSION' })]),
  ];
  const samples = new Map<string, number[]>(probes.map(([k]) => [k, []]));
  for (const [, probe] of probes) probe(); // warm the page cache
  for (let i = 0; i < cfg.startupSamples; i++) {
    for (const [k, probe] of rotate(probes, i)) samples.get(k)!.push(probe());
  }
  const get = (k: string) => (samples.has(k) ? summarize(samples.get(k)!) : undefined);
  const names = [...new Set([...ctnetPlugins, ...refPlugins])];
  return { node: get('node -e 0')!, plugins: names.map((name) => ({ name, ctnet: get(`ctnet ${name}`), reference: get(`reference ${name}`) })) };
}

// ---- ADD/DEL latency at each level ----

interface LevelResult {
  containers: number;
  add: Record<StackKey, Summary>;
  del: Record<StackKey, Summary>;
  /**
   * ctnet in a second sandbox that stays empty, sampled in the same rounds: its own growth is this
   * level's figure over these, measured in the same minutes (levels are minutes apart, and the
   * machine's load wanders in between).
   */
  empty: { add: Summary; del: Summary };
  /** Where each stack's ADD and DEL time goes: every plugin process, and the runtime around them. */
  processes: Record<StackKey, { add: ProcessTimes; del: ProcessTimes }>;
  rules: Record<StackKey, number>;
}

/**
 * Wall time of each plugin process of one ADD or DEL (spawn to exit, through nsenter and the
 * launcher), by type in the order run, and `runtime`: the rest of the operation (spawning,
 * the result cache, JSON), the same code for every stack.
 */
type ProcessTimes = Record<string, Summary>;

/** Runs `op` on bed `b`, returning its wall time and recording its plugin processes' times in `into`. */
async function timed<T>(b: Bed, into: Map<string, number[]>, op: () => Promise<T>): Promise<{ ms: number; value: T }> {
  b.runs = [];
  const t = now();
  try {
    const value = await op();
    const ms = now() - t;
    const push = (k: string, v: number) => (into.get(k) ?? into.set(k, []).get(k)!).push(v);
    for (const r of b.runs) push(r.type, r.ms);
    push('runtime', ms - b.runs.reduce((sum, r) => sum + r.ms, 0));
    return { ms, value };
  } finally {
    b.runs = undefined;
  }
}

async function measureLevel(beds: Bed[], empty: Bed, level: number): Promise<LevelResult> {
  const sampled = [...beds, empty];
  const add = new Map(sampled.map((b) => [b, [] as number[]]));
  const del = new Map(sampled.map((b) => [b, [] as number[]]));
  const procs = new Map(sampled.map((b) => [b, { add: new Map<string, number[]>(), del: new Map<string, number[]>() }]));
  for (let i = 0; i < cfg.samples; i++) {
    for (const b of rotate(sampled, i)) {
      const n = b.seq++;
      const c = await b.sb.container(`m${n}`);
      const rt = attachment(`meas${n}`, c.path, 40000 + n);
      const added = await timed(b, procs.get(b)!.add, () => b.runtime.add(b.list, rt));
      add.get(b)!.push(added.ms);
      if (i % VERIFY_EVERY === 0) await verify(b, c.path, 40000 + n, added.value);
      del.get(b)!.push((await timed(b, procs.get(b)!.del, () => b.runtime.del(b.list, rt))).ms);
    }
  }
  const rules = Object.fromEntries(await Promise.all(beds.map(async (b) => [b.stack.key, await natRules(b.sb)]))) as Record<StackKey, number>;
  const byStack = (m: Map<Bed, number[]>) => Object.fromEntries(beds.map((b) => [b.stack.key, summarize(m.get(b)!)])) as Record<StackKey, Summary>;
  const times = (m: Map<string, number[]>): ProcessTimes => Object.fromEntries([...m].map(([k, v]) => [k, summarize(v)]));
  const processes = Object.fromEntries(beds.map((b) => [b.stack.key, { add: times(procs.get(b)!.add), del: times(procs.get(b)!.del) }])) as LevelResult['processes'];
  const result = { containers: level, add: byStack(add), del: byStack(del), empty: { add: summarize(add.get(empty)!), del: summarize(del.get(empty)!) }, processes, rules };
  log(`${level} containers: ${beds.map((b) => `${b.stack.key} ADD ${result.add[b.stack.key].median} / DEL ${result.del[b.stack.key].median} ms`).join(', ')}; ctnet empty beside: ADD ${result.empty.add.median} / DEL ${result.empty.del.median} ms`);
  return result;
}

// ---- processes and memory of one ADD and DEL ----

interface Footprint {
  /** Processes started by one ADD / DEL (the plugins and whatever they run), by program name. */
  addProcesses: Record<string, number>;
  delProcesses: Record<string, number>;
  /** Peak RSS (MiB) of each plugin process (with anything it ran), in chain order, over ADD and DEL. */
  peakRssMiB: Record<string, number>;
  /**
   * With a plugin server, the plugin process is its shim (the run happens in a worker): the RSS
   * (MiB) of each warm worker waiting, what the server keeps in memory.
   */
  warmWorkerRssMiB?: number[];
}

/** RSS (MiB) of each child of `pid`. */
function childrenRssMiB(pid: number): number[] {
  return childPids(pid).flatMap((child) => {
    try {
      const kib = Number(/^VmRSS:\s*(\d+)/m.exec(readFileSync(`/proc/${child}/status`, 'utf8'))?.[1] ?? 0);
      return [Math.round(kib / 102.4) / 10];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/** Program name of each process that exec'd, from `strace -f -e trace=execve` output. */
function processesIn(trace: string): Record<string, number> {
  const byPid = new Map<string, string>();
  // An execve interrupted by another process's line is split: "<unfinished ...>", then "<... execve resumed>".
  const pending = new Map<string, string>();
  for (const line of trace.split('\n')) {
    const call = /^(\d+)\s+execve\("([^"]+)"/.exec(line);
    const pid = call?.[1] ?? /^(\d+)\s+<\.\.\. execve resumed>/.exec(line)?.[1];
    if (!pid) continue;
    const file = call?.[2] ?? pending.get(pid);
    if (line.endsWith('<unfinished ...>')) pending.set(pid, file!);
    else if (/ = 0$/.test(line) && file) byPid.set(pid, file.split('/').pop()!);
  }
  const counts: Record<string, number> = {};
  for (const name of byPid.values()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

async function footprint(b: Bed): Promise<Footprint> {
  const file = join(b.dir, 'trace');
  const traced = runtimeFor(b, ['strace', '-f', '-qq', '-A', '-e', 'trace=execve', '-o', file]);
  const c = await b.sb.container(`s${b.seq}`);
  const rt = attachment(`strace${b.seq++}`, c.path, 40000 + b.seq);
  await traced.add(b.list, rt);
  const addProcesses = processesIn(readFileSync(file, 'utf8'));
  rmSync(file);
  await traced.del(b.list, rt);
  const delProcesses = processesIn(readFileSync(file, 'utf8'));
  rmSync(file);

  const rss = join(b.dir, 'rss');
  const timed = runtimeFor(b, ['/usr/bin/time', '-a', '-o', rss, '-f', '%M']);
  const c2 = await b.sb.container(`r${b.seq}`);
  const rt2 = attachment(`rss${b.seq++}`, c2.path, 40000 + b.seq);
  await timed.add(b.list, rt2);
  await timed.del(b.list, rt2);
  const kib = readFileSync(rss, 'utf8').trim().split('\n').map(Number);
  const types = b.list.plugins.map((p) => p.type);
  // ADD runs the chain in order, DEL in reverse.
  const order = [...types, ...[...types].reverse()];
  const peakRssMiB: Record<string, number> = {};
  order.forEach((type, i) => (peakRssMiB[type] = Math.max(peakRssMiB[type] ?? 0, Math.round((kib[i] ?? 0) / 102.4) / 10)));
  return { addProcesses, delProcesses, peakRssMiB, ...(b.serverPid !== undefined ? { warmWorkerRssMiB: childrenRssMiB(b.serverPid) } : {}) };
}

// ---- concurrent ADDs and DELs ----

interface ConcurrencyResult {
  addWallMs: Summary;
  delWallMs: Summary;
  /** Every ADD and DEL of every round succeeded and the addresses were distinct. */
  ok: boolean;
  problems: string[];
}

async function concurrentRound(stack: Stack): Promise<{ add: number; del: number; problems: string[] }> {
  const b = await bed(stack);
  try {
    const cs = [];
    for (let k = 0; k < cfg.concurrency; k++) cs.push(await b.sb.container(`p${k}`));
    const rts = cs.map((c, k) => attachment(`par${k}`, c.path, 20000 + k));
    let t = now();
    const adds = await Promise.allSettled(rts.map((rt) => b.runtime.add(b.list, rt)));
    const add = now() - t;
    const problems = adds.flatMap((r, k) => (r.status === 'rejected' ? [`ADD par${k}: ${(r.reason as Error).message}`] : []));
    const ips = adds.flatMap((r) => (r.status === 'fulfilled' ? [ipOf(r.value)] : []));
    if (new Set(ips).size !== ips.length) problems.push(`duplicate addresses among ${ips.length}`);
    const first = adds[0];
    if (first?.status === 'fulfilled') await verify(b, cs[0]!.path, 20000, first.value);
    t = now();
    const dels = await Promise.allSettled(rts.map((rt) => b.runtime.del(b.list, rt)));
    const del = now() - t;
    problems.push(...dels.flatMap((r, k) => (r.status === 'rejected' ? [`DEL par${k}: ${(r.reason as Error).message}`] : [])));
    return { add, del, problems };
  } finally {
    await destroy(b.sb);
  }
}

async function concurrency(all: Stack[]): Promise<Record<StackKey, ConcurrencyResult>> {
  const runs = new Map<StackKey, Array<{ add: number; del: number; problems: string[] }>>(all.map((s) => [s.key, []]));
  for (let round = 0; round < cfg.rounds; round++) {
    for (const stack of rotate(all, round)) {
      const r = await concurrentRound(stack);
      runs.get(stack.key)!.push(r);
      log(`${cfg.concurrency} parallel, ${stack.key}: ADD ${Math.round(r.add)} ms, DEL ${Math.round(r.del)} ms${r.problems.length ? `, ${r.problems.length} problems` : ''}`);
    }
  }
  return Object.fromEntries(
    [...runs].map(([k, rs]) => {
      const problems = rs.flatMap((r) => r.problems);
      return [k, { addWallMs: summarize(rs.map((r) => r.add)), delWallMs: summarize(rs.map((r) => r.del)), ok: problems.length === 0, problems: problems.slice(0, 5) }];
    }),
  ) as Record<StackKey, ConcurrencyResult>;
}

// ---- the run ----

async function ensureReference(): Promise<string> {
  if (!existsSync(join(referenceCniBin, 'bridge'))) {
    log('installing the reference plugins (containernetworking-plugins)');
    await execa('apt-get', ['install', '-y', '--no-install-recommends', 'containernetworking-plugins'], { stdio: 'inherit' });
  }
  const r = await execa('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins'], { reject: false });
  return r.stdout || 'unknown';
}

interface Target {
  name: string;
  goal: string;
  measured: string;
  pass: boolean;
}

/** The drop-in chain's targets hold for both ways of running it: node per plugin, and a plugin server. */
const DROP_INS = [
  ['dropin', 'drop-in'],
  ['served', 'drop-in, plugin server'],
] as const;

function targets(report: Report): Target[] {
  const out: Target[] = [];
  const lv0 = report.levels.find((l) => l.containers === 0);
  const top = report.levels.at(-1);
  // Judged on the unrounded value (a 0.997x is faster, a 0.504x is not <= 0.5x), shown to 3 places.
  const t = (name: string, goal: string, value: number, pass: (v: number) => boolean, unit = 'x') =>
    out.push({ name, goal, measured: Number.isFinite(value) ? `${Math.round(value * 1000) / 1000}${unit}` : 'n/a', pass: Number.isFinite(value) && pass(value) });
  const of = (a: Summary, b: Summary) => quotient(a.median, b.median);
  const r = (l: LevelResult, op: 'add' | 'del', k: StackKey) => of(l[op][k], l[op].reference);
  if (lv0) {
    t('recommended ADD @0', '<= 0.9x reference', r(lv0, 'add', 'ctnet'), (v) => v <= 0.9);
    t('recommended DEL @0', '<= 0.5x reference', r(lv0, 'del', 'ctnet'), (v) => v <= 0.5);
    for (const [k, name] of DROP_INS) {
      t(`${name} ADD @0`, '<= 1.5x reference', r(lv0, 'add', k), (v) => v <= 1.5);
      t(`${name} DEL @0`, '<= 1.5x reference', r(lv0, 'del', k), (v) => v <= 1.5);
    }
  }
  if (top && top.containers > 0) {
    const n = top.containers;
    t(`recommended ADD @${n}`, '<= 0.6x reference', r(top, 'add', 'ctnet'), (v) => v <= 0.6);
    t(`recommended DEL @${n}`, '<= 0.6x reference', r(top, 'del', 'ctnet'), (v) => v <= 0.6);
    for (const op of ['add', 'del'] as const) {
      t(`recommended ${op.toUpperCase()} @${n} vs own @0`, '<= 1.25x (empty sandbox beside)', of(top[op].ctnet, top.empty[op]), (v) => v <= 1.25);
    }
    for (const [k, name] of DROP_INS) {
      t(`${name} ADD @${n}`, '< 1x reference', r(top, 'add', k), (v) => v < 1);
      t(`${name} DEL @${n}`, '< 1x reference', r(top, 'del', k), (v) => v < 1);
    }
  }
  const c = report.concurrency;
  t(`${report.config.concurrency} concurrent ADDs (recommended)`, 'all ok, distinct IPs, <= 1x reference wall', of(c.ctnet.addWallMs, c.reference.addWallMs), (v) => c.ctnet.ok && v <= 1);
  const worst = Math.max(...report.startup.plugins.flatMap((p) => (p.ctnet ? [p.ctnet.median - report.startup.node.median] : [])));
  t('VERSION start-up, slowest ctnet plugin', '<= node -e 0 + 15 ms', worst, (v) => v <= 15, ' ms');
  return out;
}

interface Report {
  date: string;
  commit: string;
  node: string;
  referencePlugins: string;
  cores: number;
  loadAverageBefore: number[];
  /** The tmpfs holding ctnet's NAT state, or null when it stayed on disk in each sandbox's directory. */
  natStateOn: string | null;
  loadAverageAfter?: number[];
  config: typeof cfg;
  startup: ReturnType<typeof startup>;
  levels: LevelResult[];
  footprint: Record<StackKey, Footprint>;
  /** nat (iptables + ip6tables) rules each attached container adds, measured between the first and last level. */
  rulesPerContainer: Record<StackKey, number>;
  concurrency: Record<StackKey, ConcurrencyResult>;
  targets?: Target[];
}

const STACK_KEYS = ['reference', 'ctnet', 'dropin', 'served'] as const satisfies readonly StackKey[];

function print(report: Report): void {
  const ms = (s: Summary | undefined) => (s ? `${s.median} / ${s.p90}` : '-');
  const x = (a: Summary | undefined, b: Summary | undefined) => (a && b ? `${ratio(a.median, b.median)}x` : '-');
  const out: string[] = [];
  out.push(`ctnet bench ${report.date}, ${report.commit}, node ${report.node}, reference plugins ${report.referencePlugins}, ${report.cores} cores, load ${report.loadAverageBefore.map((l) => l.toFixed(1)).join(' ')}, ctnet NAT state ${report.natStateOn ? `on tmpfs (${report.natStateOn})` : 'on disk (no tmpfs found)'}`);
  out.push('', `VERSION start-up, ms (median / p90), ${report.config.startupSamples} samples; node -e 0: ${ms(report.startup.node)}`);
  out.push(
    table(
      ['plugin', 'reference', 'ctnet', 'ctnet - node'],
      report.startup.plugins.map((p) => [p.name, ms(p.reference), ms(p.ctnet), p.ctnet ? `${Math.round((p.ctnet.median - report.startup.node.median) * 10) / 10}` : '-']),
    ),
  );
  out.push('', `ADD / DEL latency through engine/'s runtime, ms (median / p90), ${report.config.samples} samples per row; ratio = median / reference median;`);
  out.push('growth = ctnet / ctnet in an empty sandbox sampled in the same rounds');
  const rows: string[][] = [];
  for (const l of report.levels) {
    for (const op of ['add', 'del'] as const) {
      const s = l[op];
      rows.push([
        `${op.toUpperCase()} @${l.containers}`,
        ms(s.reference),
        ms(s.ctnet),
        x(s.ctnet, s.reference),
        ms(l.empty[op]),
        x(s.ctnet, l.empty[op]),
        ...DROP_INS.flatMap(([k]) => [ms(s[k]), x(s[k], s.reference)]),
      ]);
    }
  }
  const c = report.concurrency;
  for (const [label, wall] of [['ADD', 'addWallMs'], ['DEL', 'delWallMs']] as const) {
    rows.push([
      `${report.config.concurrency} parallel ${label} (wall)`,
      ms(c.reference[wall]),
      ms(c.ctnet[wall]),
      x(c.ctnet[wall], c.reference[wall]),
      '-',
      '-',
      ...DROP_INS.flatMap(([k]) => [ms(c[k][wall]), x(c[k][wall], c.reference[wall])]),
    ]);
  }
  out.push(table(['', 'reference', 'ctnet', 'ratio', 'ctnet empty', 'growth', 'drop-in', 'ratio', 'served', 'ratio'], rows));
  out.push('(served: the drop-in chain with a `ctnet plugin-server` in its host namespace)');
  out.push('', 'Where it goes: each plugin process (spawn to exit, through nsenter and its launcher) and the runtime around them, ms (median)');
  const procRows: string[][] = [];
  for (const l of [...new Set([report.levels[0]!, report.levels.at(-1)!])]) {
    for (const op of ['add', 'del'] as const) {
      const p = l.processes;
      // Chain order for ADD, reverse for DEL; `runtime` last.
      const keys = [...new Set([...Object.keys(p.reference[op]), ...Object.keys(p.dropin[op]), ...Object.keys(p.ctnet[op])])];
      const order = [...keys.filter((k) => k !== 'runtime'), 'runtime'];
      for (const k of order) {
        const cell = (s: StackKey) => (p[s][op][k] ? `${p[s][op][k]!.median}` : '-');
        procRows.push([`${op.toUpperCase()} @${l.containers} ${k}`, cell('reference'), cell('ctnet'), ...DROP_INS.flatMap(([d]) => [cell(d), x(p[d][op][k], p.reference[op][k])])]);
      }
    }
  }
  out.push(table(['', 'reference', 'ctnet', 'drop-in', 'drop-in / ref', 'served', 'served / ref'], procRows));
  const f = report.footprint;
  const procs = (p: Record<string, number>) => `${Object.values(p).reduce((a, b) => a + b, 0)} (${Object.entries(p).map(([k, v]) => `${k} ${v}`).join(', ')})`;
  const rss = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ');
  out.push('', 'Footprint per attachment');
  out.push(
    table(
      ['', 'reference', 'ctnet', 'drop-in', 'served'],
      [
        ['processes per ADD', ...STACK_KEYS.map((k) => procs(f[k].addProcesses))],
        ['processes per DEL', ...STACK_KEYS.map((k) => procs(f[k].delProcesses))],
        ['peak RSS per plugin, MiB', ...STACK_KEYS.map((k) => rss(f[k].peakRssMiB))],
        ['nat rules per container', ...STACK_KEYS.map((k) => `${report.rulesPerContainer[k]}`)],
      ],
    ),
  );
  const warm = f.served.warmWorkerRssMiB ?? [];
  out.push(`(served: the plugin processes are its shims, whose runs happen in the server's workers, started beforehand: ${warm.length} waiting, RSS ${warm.join(', ')} MiB)`);
  out.push('', 'Targets (issue 8)');
  out.push(table(['', 'target', 'measured', ''], (report.targets ?? []).map((t) => [t.name, t.goal, t.measured, t.pass ? 'PASS' : 'MISS'])));
  for (const [k, v] of Object.entries(c)) if (!v.ok) out.push(`${k}: concurrent run problems: ${v.problems.join('; ')}`);
  console.log(out.join('\n'));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the bench creates network namespaces: run it as root');
  await execa(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--out', buildDir], { stdio: 'inherit' });
  const referencePlugins = await ensureReference();
  const before = await rootSnapshot();
  const all = stacks(cniBin, referenceCniBin);
  const commit = (await execa('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { reject: false })).stdout || 'unknown';
  const loadAverageBefore = loadavg();

  log('start-up (VERSION)');
  const start = startup();

  const beds = [];
  for (const s of all) beds.push(await bed(s));
  const empty = await bed(all.find((s) => s.key === 'ctnet')!);
  const levels: LevelResult[] = [];
  let footprints: Record<StackKey, Footprint> | undefined;
  for (const level of cfg.levels) {
    for (const b of beds) {
      if (level > b.attached) log(`attaching ${level - b.attached} containers (${b.stack.key})`);
      await fill(b, level);
    }
    levels.push(await measureLevel(beds, empty, level));
    footprints ??= Object.fromEntries(await Promise.all(beds.map(async (b) => [b.stack.key, await footprint(b)]))) as Record<StackKey, Footprint>;
  }
  const first = levels[0]!;
  const last = levels.at(-1)!;
  const rulesPerContainer = Object.fromEntries(
    all.map((s) => [s.key, last.containers > first.containers ? Math.round(((last.rules[s.key] - first.rules[s.key]) / (last.containers - first.containers)) * 10) / 10 : NaN]),
  ) as Record<StackKey, number>;
  for (const b of [...beds, empty]) await destroy(b.sb);

  log(`${cfg.concurrency} concurrent ADDs and DELs, ${cfg.rounds} round(s)`);
  const conc = await concurrency(all);

  const after = await rootSnapshot();
  if (!isDeepStrictEqual(before, after)) throw new Error('the root network namespace changed during the bench');

  const report: Report = {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    referencePlugins,
    cores: availableParallelism(),
    loadAverageBefore,
    natStateOn: natStateRoot ?? null,
    loadAverageAfter: loadavg(),
    config: cfg,
    startup: start,
    levels,
    footprint: footprints!,
    rulesPerContainer,
    concurrency: conc,
  };
  report.targets = targets(report);
  print(report);
  mkdirSync(join(opt.out!, '..'), { recursive: true });
  writeFileSync(opt.out!, `${JSON.stringify(report, null, 2)}\n`);
  log(`report written to ${opt.out}`);
}

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
} finally {
  await destroyAll();
}
