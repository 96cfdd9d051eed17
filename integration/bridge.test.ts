// The bridge plugin in the sandbox, with real traffic: two containers and the gateway, dual stack,
// concurrent first ADDs, rollback at every step, DEL from recorded state, CHECK, every version,
// chaining into a reference plugin, and a foreign IPAM plugin on CNI_PATH.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniBin, referenceCniBin, Sandbox, type Container } from './sandbox.js';

interface Net {
  sb: Sandbox;
  dataDir: string;
  conf: (extra?: object) => Record<string, unknown>;
}

async function network(t: any, extra: object = {}, ranges: object[][] = [[{ subnet: '10.99.0.0/24' }]]): Promise<Net> {
  const sb = await Sandbox.create(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'ctnet-bridge-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const conf = (more: object = {}) => ({
    cniVersion: '1.0.0',
    name: 'brnet',
    type: 'bridge',
    bridge: 'ctbr0',
    isGateway: true,
    isDefaultGateway: true,
    ipam: { type: 'host-local', dataDir, ranges },
    ...extra,
    ...more,
  });
  return { sb, dataDir, conf };
}

async function add(n: Net, c: Container, id = c.name, more: object = {}, env: Record<string, string> = {}) {
  return n.sb.plugin('bridge', { command: 'ADD', config: n.conf(more), containerId: id, netns: c.path, env });
}

const reservations = (n: Net) => readdirSync(join(n.dataDir, 'brnet')).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
const hostLinks = async (n: Net) => JSON.parse((await n.sb.exec('ip', ['-j', 'link'])).stdout).map((l: any) => l.ifname as string);

test('two containers reach each other and the gateway over TCP, on IPv4 and IPv6', async (t) => {
  const n = await network(t, {}, [[{ subnet: '10.99.0.0/24' }], [{ subnet: 'fd99::/64' }]]);
  const [c1, c2] = [await n.sb.container(), await n.sb.container()];
  const r1 = await add(n, c1);
  const r2 = await add(n, c2);
  t.is(r1.exitCode, 0, r1.stdout);
  t.is(r2.exitCode, 0, r2.stdout);
  t.deepEqual(r1.json.interfaces.map((i: any) => i.name), ['ctbr0', r1.json.interfaces[1].name, 'eth0']);
  t.regex(r1.json.interfaces[1].name, /^veth[0-9a-f]{8}$/);
  t.is(r1.json.interfaces[2].sandbox, c1.path);
  t.deepEqual(r1.json.ips.map((i: any) => [i.address, i.gateway, i.interface]), [['10.99.0.2/24', '10.99.0.1', 2], ['fd99::2/64', 'fd99::1', 2]]);
  t.deepEqual(r1.json.routes, [{ dst: '0.0.0.0/0', gw: '10.99.0.1' }, { dst: '::/0', gw: 'fd99::1' }]);

  await n.sb.echoServer(8000, c1.path);
  await n.sb.echoServer(8001);
  t.is(await n.sb.send(c2.path, '10.99.0.2', 8000, 'c2->c1 v4'), 'c2->c1 v4');
  t.is(await n.sb.send(c2.path, 'fd99::2', 8000, 'c2->c1 v6'), 'c2->c1 v6');
  t.is(await n.sb.send(c1.path, '10.99.0.1', 8001, 'c1->gw v4'), 'c1->gw v4');
  t.is(await n.sb.send(c1.path, 'fd99::1', 8001, 'c1->gw v6'), 'c1->gw v6');
  t.is((await n.sb.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim(), '1');
  // The host ends are bridge ports and nothing else: no address of their own, not even the link-local
  // one the bridge has.
  const links = JSON.parse((await n.sb.exec('ip', ['-j', 'addr'])).stdout) as { ifname: string; addr_info: { local: string }[] }[];
  const addressesOf = (name: string) => links.find((l) => l.ifname === name)?.addr_info.map((a) => a.local);
  t.deepEqual([addressesOf(r1.json.interfaces[1].name), addressesOf(r2.json.interfaces[1].name)], [[], []]);
  t.true(addressesOf('ctbr0')?.some((a) => a.startsWith('fe80:')));
});

test('20 concurrent ADDs onto a bridge that does not exist yet: all succeed, one bridge, one gateway address', async (t) => {
  const n = await network(t);
  const containers = await Promise.all(Array.from({ length: 20 }, (_, i) => n.sb.container(`p${i}`)));
  const results = await Promise.all(containers.map((c) => add(n, c)));
  for (const r of results) t.is(r.exitCode, 0, r.stdout + r.stderr);
  const addresses = new Set(results.map((r) => r.json.ips[0].address));
  t.is(addresses.size, 20);
  const bridges = JSON.parse((await n.sb.exec('ip', ['-j', 'link', 'show', 'type', 'bridge'])).stdout);
  t.is(bridges.length, 1);
  const brAddrs = JSON.parse((await n.sb.exec('ip', ['-j', '-4', 'addr', 'show', 'ctbr0'])).stdout)[0].addr_info;
  t.deepEqual(brAddrs.map((a: any) => `${a.local}/${a.prefixlen}`), ['10.99.0.1/24']);
  t.is(await n.sb.send(containers[19]!.path, '10.99.0.1', 8100, 'x', { attempts: 1 }).catch(() => 'no server'), 'no server');
  await n.sb.echoServer(8100, containers[0]!.path);
  const target = results[0]!.json.ips[0].address.split('/')[0];
  t.is(await n.sb.send(containers[19]!.path, target, 8100, 'last->first'), 'last->first');
});

for (const step of ['after-ipam', 'after-veth', 'after-container', 'after-firewall']) {
  test(`rollback: a failure ${step} leaves no veth and no reservation`, async (t) => {
    const n = await network(t);
    const c = await n.sb.container();
    const before = await hostLinks(n);
    const r = await add(n, c, 'c1', {}, { CTNET_TEST_FAIL_AT: step });
    t.is(r.exitCode, 1);
    t.regex(r.json.msg, new RegExp(`injected failure at ${step}`));
    t.deepEqual(reservations(n), []);
    const after = (await hostLinks(n)).filter((l: string) => l !== 'ctbr0');
    t.deepEqual(after, before);
    const inside = JSON.parse((await n.sb.exec('ip', ['-j', 'link'], c.path)).stdout).map((l: any) => l.ifname);
    t.deepEqual(inside, ['lo']);
    // And the same ADD then succeeds.
    t.is((await add(n, c, 'c1')).exitCode, 0);
  });
}

test('disableContainerInterface: ADD does not wait for a link it leaves down; both ends stay down; DEL removes them', async (t) => {
  const n = await network(t, { ipam: undefined, disableContainerInterface: true });
  const c = await n.sb.container('down');
  const started = Date.now();
  const r = await add(n, c);
  t.is(r.exitCode, 0, r.stdout);
  t.true(Date.now() - started < 4000, 'no wait for a link up');
  const inside = JSON.parse((await n.sb.exec('ip', ['-j', 'link', 'show', 'dev', 'eth0'], c.path)).stdout)[0];
  t.false((inside.flags as string[]).includes('UP'), JSON.stringify(inside.flags));
  t.is((await n.sb.plugin('bridge', { command: 'DEL', config: n.conf(), containerId: c.name, netns: c.path })).exitCode, 0);
  t.deepEqual(JSON.parse((await n.sb.exec('ip', ['-j', 'link'], c.path)).stdout).map((l: any) => l.ifname), ['lo']);
});

test('DEL after the namespace was deleted, DEL twice, DEL with empty CNI_NETNS: exit 0, nothing left', async (t) => {
  const n = await network(t);
  const [gone, kept] = [await n.sb.container(), await n.sb.container()];
  t.is((await add(n, gone, 'gone')).exitCode, 0);
  t.is((await add(n, kept, 'kept')).exitCode, 0);
  await n.sb.exec('ip', ['netns', 'delete', gone.name]);
  const del = (id: string, netns: string | undefined) => n.sb.plugin('bridge', { command: 'DEL', config: n.conf(), containerId: id, netns });
  for (let i = 0; i < 2; i++) t.is((await del('gone', gone.path)).exitCode, 0);
  // Empty CNI_NETNS while the namespace lives on: the host end goes (and the pair with it).
  const r = await del('kept', undefined);
  t.is(r.exitCode, 0, r.stdout);
  t.deepEqual(reservations(n), []);
  t.deepEqual(await hostLinks(n), ['lo', 'ctbr0']);
  t.deepEqual(JSON.parse((await n.sb.exec('ip', ['-j', 'link'], kept.path)).stdout).map((l: any) => l.ifname), ['lo']);
});

test('CHECK passes right after ADD and fails clearly once the address is removed by hand', async (t) => {
  const n = await network(t);
  const c = await n.sb.container();
  const r = await add(n, c, 'c1');
  const check = () => n.sb.plugin('bridge', { command: 'CHECK', config: n.conf({ prevResult: r.json }), containerId: 'c1', netns: c.path });
  t.is((await check()).exitCode, 0, (await check()).stdout);
  await n.sb.exec('ip', ['addr', 'del', '10.99.0.2/24', 'dev', 'eth0'], c.path);
  const bad = await check();
  t.is(bad.exitCode, 1);
  t.is(bad.json.code, 105);
  t.regex(bad.json.msg, /eth0 in .* lacks address 10\.99\.0\.2\/24/);
});

for (const cniVersion of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
  test(`cniVersion ${cniVersion} gives a correctly shaped result`, async (t) => {
    const n = await network(t, { cniVersion });
    const c = await n.sb.container();
    const r = await add(n, c);
    t.is(r.exitCode, 0, r.stdout);
    t.is(r.json.cniVersion, cniVersion);
    const legacy = cniVersion.startsWith('0.');
    t.is(r.json.ips[0].version, legacy ? '4' : undefined);
    t.is(r.json.ips[0].interface, 2);
  });
}

test('chaining: the reference tuning plugin accepts the prevResult and passes it on', async (t) => {
  const n = await network(t);
  const c = await n.sb.container();
  const r = await add(n, c, 'c1');
  const tuned = await n.sb.plugin('tuning', {
    command: 'ADD',
    binDir: referenceCniBin,
    config: { cniVersion: '1.0.0', name: 'brnet', type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' }, prevResult: r.json },
    containerId: 'c1',
    netns: c.path,
  });
  t.is(tuned.exitCode, 0, tuned.stdout);
  t.deepEqual(tuned.json.ips, r.json.ips);
  t.deepEqual(tuned.json.interfaces, r.json.interfaces);
  t.is((await n.sb.exec('sysctl', ['-n', 'net.ipv4.conf.eth0.arp_notify'], c.path)).stdout.trim(), '1');
});

test('a foreign IPAM type is run from CNI_PATH (the reference static plugin)', async (t) => {
  const n = await network(t);
  const c = await n.sb.container();
  const r = await n.sb.plugin('bridge', {
    command: 'ADD',
    cniPath: `${cniBin}:${referenceCniBin}`,
    config: n.conf({ ipam: { type: 'static', addresses: [{ address: '10.99.0.50/24', gateway: '10.99.0.1' }] } }),
    containerId: 'c1',
    netns: c.path,
  });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.is(r.json.ips[0].address, '10.99.0.50/24');
  await n.sb.echoServer(8200);
  t.is(await n.sb.send(c.path, '10.99.0.1', 8200, 'static'), 'static');
  const missing = await n.sb.plugin('bridge', { command: 'ADD', config: n.conf({ ipam: { type: 'nope' } }), containerId: 'c2', netns: (await n.sb.container()).path });
  t.is(missing.json.code, 4);
  t.regex(missing.json.msg, /failed to find plugin "nope"/);
});
