// The engine's CNI runtime (engine/runtime.ts) in the sandbox: real plugin executables, run
// through `nsenter --net=<sandbox host>` (the runtime's execPrefix), real namespaces and traffic.
// ctnet's loopback exercises the 1.1.0 commands; the reference bridge + host-local + portmap chain
// shows the runtime drives third-party plugins as libcni does (prevResult, capabilities, cache).
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfList } from '../engine/conflist.js';
import { buildBridgeNetwork } from '../engine/network-config.js';
import { CniRuntime, type RuntimeConf } from '../engine/runtime.js';
import { cniBin, referenceCniBin, Sandbox } from './sandbox.js';

interface Setup {
  sb: Sandbox;
  runtime: CniRuntime;
  cacheDir: string;
  dataDir: string;
}

async function setup(t: any, pluginPath: string[]): Promise<Setup> {
  const sb = await Sandbox.create(t);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-engine-rt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cacheDir = join(dir, 'cache');
  const runtime = new CniRuntime({
    pluginPath,
    cacheDir,
    execPrefix: ['nsenter', `--net=${sb.hostPath}`, '--'],
    env: { ...process.env, CTNET_NAT_DATA_DIR: sb.stateDir },
    timeoutMs: 60_000,
  });
  return { sb, runtime, cacheDir, dataDir: join(dir, 'ipam') };
}

const cached = (s: Setup) => (existsSync(join(s.cacheDir, 'results')) ? readdirSync(join(s.cacheDir, 'results')).sort() : []);
const reservations = (s: Setup, net: string) => readdirSync(join(s.dataDir, net)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')).sort();
const json = async (s: Setup, args: string[], ns = s.sb.hostPath) => JSON.parse((await s.sb.exec('ip', ['-j', ...args], ns)).stdout);
const loUp = async (s: Setup, ns: string) => ((await json(s, ['link', 'show', 'lo'], ns))[0].flags as string[]).includes('UP');

test("ctnet's loopback through the runtime: ADD, CHECK, STATUS, GC of a stale attachment, DEL after the namespace is gone", async (t) => {
  const s = await setup(t, [cniBin]);
  const list = parseConfList(JSON.stringify({ cniVersion: '1.1.0', name: 'lonet', plugins: [{ type: 'loopback' }] }));
  t.deepEqual(await s.runtime.validate(list), []);
  await s.runtime.status(list);

  const [c1, c2] = [await s.sb.container(), await s.sb.container()];
  const rt1: RuntimeConf = { containerId: 'ctr1', netns: c1.path, ifname: 'lo' };
  const rt2: RuntimeConf = { containerId: 'ctr2', netns: c2.path, ifname: 'lo' };
  const result = await s.runtime.add(list, rt1);
  t.deepEqual(result.interfaces?.map((i) => i.name), ['lo']);
  t.true(await loUp(s, c1.path));
  t.deepEqual(cached(s), ['lonet-ctr1-lo']);
  t.true(await s.runtime.check(list, rt1));

  await s.runtime.add(list, rt2);
  t.deepEqual(cached(s), ['lonet-ctr1-lo', 'lonet-ctr2-lo']);
  // ctr1 is stale: GC DELs it from its cached record (lo goes down) and keeps ctr2.
  await s.runtime.gc(list, [{ containerID: 'ctr2', ifname: 'lo' }]);
  t.deepEqual(cached(s), ['lonet-ctr2-lo']);
  t.false(await loUp(s, c1.path));
  t.true(await loUp(s, c2.path));

  // The namespace disappears before the runtime hears of it: DEL still succeeds from the cache.
  await s.sb.exec('ip', ['netns', 'delete', c2.name], undefined);
  await s.runtime.del(list, rt2);
  t.deepEqual(cached(s), []);
  // And once more, with nothing recorded and no namespace: DEL is idempotent.
  await s.runtime.del(list, { ...rt2, netns: '' });
});

test('reference bridge + host-local + portmap: ADD with a published port, traffic, CHECK, DEL from the cache', async (t) => {
  const s = await setup(t, [referenceCniBin]);
  const bridge = `ctbr${s.sb.id.slice(0, 6)}`;
  const list = parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'refnet',
      plugins: [
        { type: 'bridge', bridge, isGateway: true, isDefaultGateway: true, ipam: { type: 'host-local', dataDir: s.dataDir, ranges: [[{ subnet: '10.88.0.0/24' }]] } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  t.deepEqual(await s.runtime.validate(list), ['portMappings']);
  const [c1, c2] = [await s.sb.container(), await s.sb.container()];
  const rt1: RuntimeConf = {
    containerId: 'ctr1',
    netns: c1.path,
    ifname: 'eth0',
    args: [['IgnoreUnknown', '1']],
    capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }] },
  };
  const rt2: RuntimeConf = { containerId: 'ctr2', netns: c2.path, ifname: 'eth0' };
  const r1 = await s.runtime.add(list, rt1);
  const r2 = await s.runtime.add(list, rt2);
  t.deepEqual(r1.ips?.map((ip) => ip.address), ['10.88.0.2/24']);
  t.deepEqual(r2.ips?.map((ip) => ip.address), ['10.88.0.3/24']);
  t.deepEqual(r1.interfaces?.map((i) => i.name).slice(0, 1), [bridge]);
  t.deepEqual(cached(s), ['refnet-ctr1-eth0', 'refnet-ctr2-eth0']);

  await s.sb.echoServer(8080, c1.path);
  t.is(await s.sb.send(c2.path, '10.88.0.2', 8080, 'container to container'), 'container to container');
  t.is(await s.sb.send(s.sb.hostPath, '10.88.0.2', 8080, 'host to container'), 'host to container');
  // The published port, from the host namespace to its own bridge address (portmap's OUTPUT DNAT).
  t.is(await s.sb.send(s.sb.hostPath, '10.88.0.1', 18080, 'published'), 'published');
  // CHECK runs the chain with the cached result: bridge passes; the reference portmap 1.1.1 then
  // fails looking for IPv6 rules it never made (containernetworking/plugins#819), fixed upstream.
  const check = await s.runtime.check(list, rt1).catch((err: Error) => err);
  if (check !== true) t.regex((check as Error).message, /^plugin type="portmap" failed \(check\): could not check ipv6 dnat/);

  // DEL without the capability arguments: the cached ones let portmap find and remove its rules.
  await s.runtime.del(list, { containerId: 'ctr1', netns: c1.path, ifname: 'eth0' });
  const nat = (await s.sb.exec('iptables-save', ['-t', 'nat'])).stdout;
  t.false(nat.includes('18080'), nat);
  t.deepEqual(reservations(s, 'refnet'), ['10.88.0.3']);
  t.deepEqual(cached(s), ['refnet-ctr2-eth0']);

  // ctr2's namespace is deleted first; DEL works from the cached result.
  await s.sb.exec('ip', ['netns', 'delete', c2.name]);
  await s.runtime.del(list, rt2);
  t.deepEqual(reservations(s, 'refnet'), []);
  t.deepEqual(cached(s), []);
  t.deepEqual(await json(s, ['link', 'show', 'type', 'veth']), []);
});

/** A 1.0.0 list of the reference bridge (a bridge name unique to the sandbox) with host-local on `subnet`. */
function referenceBridgeList(s: Setup, name: string, subnet: string) {
  const bridge = `ctbr${s.sb.id.slice(0, 6)}`;
  return parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [{ type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', dataDir: s.dataDir, ranges: [[{ subnet }]] } }],
    }),
  );
}

test('reference plugins: a failing plugin comes back with its code and name, and CHECK reports a broken attachment', async (t) => {
  const s = await setup(t, [referenceCniBin]);
  const list = referenceBridgeList(s, 'refnet', '10.77.0.0/30');
  const [c1, c2] = [await s.sb.container(), await s.sb.container()];
  await s.runtime.add(list, { containerId: 'ctr1', netns: c1.path, ifname: 'eth0' });
  t.true(await s.runtime.check(list, { containerId: 'ctr1', netns: c1.path, ifname: 'eth0' }));
  // A /30 has one address for containers: the second ADD fails in host-local, reported through bridge.
  const err: any = await t.throwsAsync(s.runtime.add(list, { containerId: 'ctr2', netns: c2.path, ifname: 'eth0' }));
  t.regex(err.message, /^plugin type="bridge" failed \(add\): .*no IP addresses available/);
  t.is(typeof err.code, 'number');
  t.deepEqual(cached(s), ['refnet-ctr1-eth0']);
  // The caller cleans up a failed ADD with DEL, as with libcni.
  await s.runtime.del(list, { containerId: 'ctr2', netns: c2.path, ifname: 'eth0' });

  // Remove the container's address behind the plugin's back: CHECK fails, naming the plugin.
  await s.sb.exec('ip', ['addr', 'flush', 'dev', 'eth0'], c1.path);
  const check: any = await t.throwsAsync(s.runtime.check(list, { containerId: 'ctr1', netns: c1.path, ifname: 'eth0' }));
  t.regex(check.message, /^plugin type="bridge" failed \(check\): /);
  await s.runtime.del(list, { containerId: 'ctr1', netns: c1.path, ifname: 'eth0' });
  t.deepEqual(cached(s), []);
});

test('GC of a 1.0.0 chain: stale cached attachments are DELed, valid ones keep working', async (t) => {
  const s = await setup(t, [referenceCniBin]);
  const list = referenceBridgeList(s, 'gcnet', '10.66.0.0/24');
  const [c1, c2] = [await s.sb.container(), await s.sb.container()];
  await s.runtime.add(list, { containerId: 'keep', netns: c1.path, ifname: 'eth0' });
  await s.runtime.add(list, { containerId: 'stale', netns: c2.path, ifname: 'eth0' });
  await s.runtime.gc(list, [{ containerID: 'keep', ifname: 'eth0' }]);
  t.deepEqual(cached(s), ['gcnet-keep-eth0']);
  t.deepEqual(reservations(s, 'gcnet'), ['10.66.0.2']);
  t.deepEqual((await json(s, ['link', 'show', 'type', 'veth'])).length, 1);
  await s.sb.echoServer(9000, c1.path);
  t.is(await s.sb.send(s.sb.hostPath, '10.66.0.2', 9000, 'still here'), 'still here');
});

// The spec (and libcni) put `cni.dev/valid-attachments` at the top level of the GC config.
test("GC of a 1.1.0 chain reaches the plugins: ctnet's host-local releases a reservation nobody recorded", async (t) => {
  const s = await setup(t, [cniBin]);
  const list = parseConfList(
    JSON.stringify({
      cniVersion: '1.1.0',
      name: 'leaknet',
      plugins: [{ type: 'host-local', ipam: { type: 'host-local', dataDir: s.dataDir, ranges: [[{ subnet: '10.55.0.0/24' }]] } }],
    }),
  );
  const c1 = await s.sb.container();
  await s.runtime.add(list, { containerId: 'keep', netns: c1.path, ifname: 'eth0' });
  // A reservation leaked by an ADD that never got its result cached (a killed runtime).
  mkdirSync(join(s.dataDir, 'leaknet'), { recursive: true });
  writeFileSync(join(s.dataDir, 'leaknet', '10.55.0.99'), 'leaked\r\neth0');
  t.deepEqual(reservations(s, 'leaknet'), ['10.55.0.2', '10.55.0.99']);
  await s.runtime.gc(list, [{ containerID: 'keep', ifname: 'eth0' }]);
  t.deepEqual(reservations(s, 'leaknet'), ['10.55.0.2']);
});

test('a generated bridge network (engine/network-config) runs under the runtime with ctnet\'s plugins', async (t) => {
  const s = await setup(t, [cniBin]);
  const doc = buildBridgeNetwork(
    {
      name: 'gen',
      subnets: ['10.44.0.0/24'],
      options: { 'com.docker.network.bridge.name': `ctbr${s.sb.id.slice(0, 6)}` },
    },
    { existing: [], defaults: { ipamDataDir: s.dataDir } },
  );
  const list = parseConfList(JSON.stringify(doc));
  t.deepEqual(await s.runtime.validate(list), ['portMappings', 'ips', 'mac']);
  const [c1, c2] = [await s.sb.container(), await s.sb.container()];
  const rt1: RuntimeConf = { containerId: 'ctr1', netns: c1.path, ifname: 'eth0', args: [['IgnoreUnknown', '1']], capabilityArgs: { mac: '02:42:0a:2c:00:09' } };
  const r1 = await s.runtime.add(list, rt1);
  await s.runtime.add(list, { containerId: 'ctr2', netns: c2.path, ifname: 'eth0' });
  t.deepEqual(r1.ips?.map((ip) => [ip.address, ip.gateway]), [['10.44.0.2/24', '10.44.0.1']]);
  t.is(r1.interfaces?.find((i) => i.name === 'eth0')?.mac, '02:42:0a:2c:00:09');
  await s.sb.echoServer(8080, c1.path);
  t.is(await s.sb.send(c2.path, '10.44.0.2', 8080, 'on a generated network'), 'on a generated network');
  t.true(await s.runtime.check(list, rt1));
  for (const [c, id] of [[c1, 'ctr1'], [c2, 'ctr2']] as const) await s.runtime.del(list, { containerId: id, netns: c.path, ifname: 'eth0' });
  t.deepEqual(cached(s), []);
  t.deepEqual(reservations(s, 'gen'), []);
  t.deepEqual(await json(s, ['link', 'show', 'type', 'veth']), []);
});
