// The plugin server (plugin-server/) with the plugins' executables (native/cni-shim.c), in the
// sandbox: with a server in the host namespace, a plugin run is handed to a warm worker and gives
// the runtime what a plugin process would (result, error object, exit status, real traffic
// through what it set up); a caller the server must not serve, and a run without a server, start
// node themselves; a killed plugin process ends its worker's run; workers die with their server.
import test from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfList } from '../engine/conflist.js';
import { CniRuntime } from '../engine/runtime.js';
import { childPids, cniBin, ctnetBin, Sandbox } from './sandbox.js';

const VERSION_ANSWER = { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] };

/** The runs the server's workers took, from its --verbose log: "bridge ADD", ... */
const served = (log: string) => [...log.matchAll(/running (\S+) (\S*) for pid/g)].map((m) => `${m[1]} ${m[2]}`);

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the drop-in chain through a plugin server: the workers run bridge, portmap and firewall; the port answers; DEL undoes it', async (t) => {
  const sb = await Sandbox.create(t);
  const server = await sb.pluginServer(ctnetBin, ['--verbose']);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-plugin-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const runtime = new CniRuntime({
    pluginPath: [cniBin],
    cacheDir: join(dir, 'cache'),
    execPrefix: ['nsenter', `--net=${sb.hostPath}`, '--'],
    // A free worker answers at once; on a loaded machine it may take longer than the default 50 ms.
    env: { ...process.env, CTNET_NAT_DATA_DIR: sb.stateDir, CTNET_PLUGIN_SERVER_WAIT_MS: '10000' },
    timeoutMs: 60_000,
  });
  const bridge = `ctps${sb.id.slice(0, 6)}`;
  const list = parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'servednet',
      plugins: [
        { type: 'bridge', bridge, isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: '10.86.0.0/24', gateway: '10.86.0.1' }]] } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'firewall' },
      ],
    }),
  );
  const c = await sb.container();
  const conf = { containerId: 'served1', netns: c.path, ifname: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }] } };
  const result = await runtime.add(list, conf);
  t.is(result.ips?.[0]?.address, '10.86.0.2/24');
  t.deepEqual(served(server.log()), ['bridge ADD', 'portmap ADD', 'firewall ADD']);

  await sb.echoServer(8080, c.path, { reply: 'from-the-container' });
  t.is(await sb.send(sb.hostPath, '10.86.0.1', 18080, 'ping'), 'from-the-container');

  await runtime.del(list, conf);
  t.deepEqual(served(server.log()).slice(3), ['firewall DEL', 'portmap DEL', 'bridge DEL']);
  // The workers started next have those six bundles compiled before their run comes.
  const chain = 'bridge ADD, bridge DEL, firewall ADD, firewall DEL, portmap ADD, portmap DEL';
  const preloads = () => [...server.log().matchAll(/preloaded (.*)/g)].map((m) => m[1]!.split(', ').sort().join(', '));
  await until('a replacement to preload the chain', () => preloads().includes(chain), 30_000);
  t.true(preloads().includes(chain));
  const nat = (await sb.exec('iptables-save', ['-t', 'nat'])).stdout;
  t.false(nat.includes('18080'), 'the published port is gone');
  t.deepEqual(readdirSync(join(dir, 'ipam', 'servednet')).filter((f) => /^10\./.test(f)), [], 'the address is free again');
});

test('a worker gives back what the plugin process would: output, error objects and exit status, as without a server', async (t) => {
  const sb = await Sandbox.create(t);
  const server = await sb.pluginServer(ctnetBin, ['--verbose', '--spares', '2']);
  const bad = { command: 'ADD' as const, containerId: 'c1', netns: '/nonexistent', stdin: '{"cniVersion":"1.0.0","name":"x","type":"bridge"', env: { CTNET_PLUGIN_SERVER_WAIT_MS: '10000' } };
  const viaServer = await sb.plugin('bridge', bad);
  const viaNode = await sb.plugin('bridge', { ...bad, env: { CTNET_PLUGIN_SERVER: 'off' } });
  t.is(viaServer.exitCode, 1);
  t.is((viaServer.json as { code: number }).code, 6);
  t.deepEqual(viaServer.json, viaNode.json);
  const version = await sb.plugin('firewall', { command: 'VERSION', stdin: '{"cniVersion":"1.0.0"}', env: bad.env });
  t.is(version.exitCode, 0);
  t.deepEqual(version.json, VERSION_ANSWER);
  t.deepEqual(served(server.log()), ['bridge ADD', 'firewall VERSION'], 'CTNET_PLUGIN_SERVER=off ran node itself');
});

test('a caller of another uid, with fewer capabilities or more confinement is declined, and its plugin runs in its own node; the worker waits on', async (t) => {
  const sb = await Sandbox.create(t);
  const server = await sb.pluginServer(ctnetBin, ['--verbose', '--spares', '1']);
  const env = { CNI_COMMAND: 'VERSION', PATH: process.env.PATH!, CTNET_PLUGIN_SERVER_WAIT_MS: '10000' };
  const asNobody = await execa('nsenter', [`--net=${sb.hostPath}`, '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', join(cniBin, 'bridge')], { env, extendEnv: false, input: '' });
  t.deepEqual(JSON.parse(asNobody.stdout), VERSION_ANSWER);
  const unprivileged = await execa('nsenter', [`--net=${sb.hostPath}`, '--', 'setpriv', '--inh-caps=-all', '--bounding-set=-net_admin', join(cniBin, 'bridge')], { env, extendEnv: false, input: '' });
  t.deepEqual(JSON.parse(unprivileged.stdout), VERSION_ANSWER);
  // no_new_privs: confined more than the worker is (as a seccomp filter or an LSM profile would be).
  const confined = await execa('nsenter', [`--net=${sb.hostPath}`, '--', 'setpriv', '--no-new-privs', join(cniBin, 'bridge')], { env, extendEnv: false, input: '' });
  t.deepEqual(JSON.parse(confined.stdout), VERSION_ANSWER);
  await until('the three refusals logged', () => (server.log().match(/declined/g) ?? []).length === 3);
  t.regex(server.log(), /declined pid \d+: uid 65534 is not this server's \(0\)/);
  t.regex(server.log(), /declined pid \d+: fewer capabilities than this server/);
  t.regex(server.log(), /declined pid \d+: another security context, seccomp or no_new_privs state/);
  t.deepEqual(served(server.log()), []);
  // A refusal does not use a worker up: the one spare still serves root.
  const asRoot = await execa('nsenter', [`--net=${sb.hostPath}`, '--', join(cniBin, 'bridge')], { env, extendEnv: false, input: '' });
  t.deepEqual(JSON.parse(asRoot.stdout), VERSION_ANSWER);
  t.deepEqual(served(server.log()), ['bridge VERSION']);
});

test("killing a plugin process ends its worker's run, and idle workers die with their server", async (t) => {
  const sb = await Sandbox.create(t);
  const server = await sb.pluginServer(ctnetBin, ['--verbose', '--spares', '2']);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-plugin-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = await sb.container();
  // The network's IPAM lock, held: the ADD waits for it in its worker.
  const ipam = join(dir, 'ipam');
  await execa('mkdir', ['-p', join(ipam, 'locked')]);
  const holder = execa('flock', [join(ipam, 'locked', 'lock'), 'sleep', '30'], { reject: false });
  t.teardown(() => void (holder.pid !== undefined && process.kill(holder.pid, 'SIGKILL')));
  await new Promise((r) => setTimeout(r, 200));
  const bridge = `ctpk${sb.id.slice(0, 6)}`;
  const run = sb.plugin('bridge', {
    command: 'ADD',
    containerId: 'k1',
    netns: c.path,
    env: { CTNET_PLUGIN_SERVER_WAIT_MS: '10000' },
    config: { cniVersion: '1.0.0', name: 'locked', type: 'bridge', bridge, ipam: { type: 'host-local', dataDir: ipam, subnet: '10.87.0.0/24' } },
  });
  await until('the run to reach a worker', () => /running bridge ADD for pid \d+/.test(server.log()));
  const worker = Number(/worker (\d+): running bridge ADD/.exec(server.log())![1]);
  const shim = Number(/running bridge ADD for pid (\d+)/.exec(server.log())![1]);
  t.true(alive(worker));
  process.kill(shim, 'SIGKILL');
  t.not((await run).exitCode, 0);
  await until('the worker to end', () => !alive(worker));
  const links = (await sb.exec('ip', ['-o', 'link', 'show'])).stdout;
  t.false(links.includes(bridge), 'the run ended before it made anything');

  const idle = childPids(server.pid).filter(alive);
  t.true(idle.length >= 1, 'the server keeps spare workers');
  process.kill(server.pid, 'SIGKILL');
  await until('the idle workers to end with their server', () => idle.every((pid) => !alive(pid)));
  const answer = await sb.plugin('firewall', { command: 'VERSION', stdin: '' });
  t.deepEqual(answer.json, VERSION_ANSWER, 'without a server, the plugin runs in its own node');
});
