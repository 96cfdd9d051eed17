// The bridge plugin's firewall side, as a runtime drives it: ipMasq to another machine under a
// FORWARD DROP policy, ports published by the bridge itself (portMappings capability), CHECK, DEL
// leaving no rule of the container, GC from the spec's top-level valid-attachments list, and a
// refused port leaving nothing half-made.
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT4, HOST4, probe, reach, ruleset, serve, topology, whoami, type Topology } from '../nat/testing.js';
import type { Container } from './sandbox.js';

const SUBNET = '10.99.0';

function bridgeConf(topo: Topology, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: 'masqnet',
    type: 'bridge',
    bridge: 'ctbr1',
    isDefaultGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', dataDir: join(topo.sb.stateDir, 'ipam'), ranges: [[{ subnet: `${SUBNET}.0/24` }]] },
    ...extra,
  };
}

const run = (topo: Topology, command: string, c: Container, id: string, extra: Record<string, unknown> = {}) =>
  topo.sb.plugin('bridge', { command, config: bridgeConf(topo, extra), containerId: id, netns: c.path });

const ipOf = (r: { json: any }) => String(r.json.ips[0].address).split('/')[0]!;
/** iptables lines that name the container's address (its DNAT, masquerade and accept rules do). */
const rulesOf = async (topo: Topology, ip: string) => (await ruleset(topo)).filter((l) => l.includes(`${ip}/`) || l.includes(`${ip}:`) || l.includes(` ${ip} `));

test('ipMasq under a FORWARD DROP policy: egress leaves behind the host address; published ports answer; DEL removes every rule', async (t) => {
  const topo = await topology(t);
  await whoami(topo, topo.client.path, 7000);
  const [c1, c2] = [await topo.sb.container('m1'), await topo.sb.container('m2')];
  const ports = { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } };
  const a1 = await run(topo, 'ADD', c1, 'masq1', ports);
  t.is(a1.exitCode, 0, a1.stdout + a1.stderr);
  const a2 = await run(topo, 'ADD', c2, 'plain2', { ipMasq: false });
  t.is(a2.exitCode, 0, a2.stdout + a2.stderr);
  const [ip1, ip2] = [ipOf(a1), ipOf(a2)];
  await serve(topo, c1.path, 80, 'c1');
  t.is(await reach(topo, c2.path, CLIENT4, 7000), ip2, 'ipMasq false: the client sees the container');
  // ipMasq false asks for no rules, so from here on only c1's rules let traffic through.
  await topo.sb.exec('iptables', ['-P', 'FORWARD', 'DROP']);
  t.is(await probe(topo, c2.path, CLIENT4, 7000), undefined);

  t.is(await reach(topo, c1.path, CLIENT4, 7000), HOST4, 'masqueraded behind the host address');
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c1', 'published by the bridge, through the DROP policy');
  t.is(await reach(topo, topo.sb.hostPath, '127.0.0.1', 8080), 'c1', 'and on the host\'s 127.0.0.1');
  t.is(await reach(topo, c2.path, HOST4, 8080), 'c1', 'and from a neighbour on the bridge');
  const check = await run(topo, 'CHECK', c1, 'masq1', { ...ports, prevResult: a1.json });
  t.is(check.exitCode, 0, check.stdout);

  t.not((await rulesOf(topo, ip1)).length, 0);
  t.is((await run(topo, 'DEL', c1, 'masq1', ports)).exitCode, 0);
  t.deepEqual(await rulesOf(topo, ip1), [], 'DEL removed every rule of the container');
  t.is((await run(topo, 'DEL', c1, 'masq1', ports)).exitCode, 0, 'DEL twice succeeds');
  t.is(await probe(topo, topo.client.path, HOST4, 8080), undefined);
  t.is((await run(topo, 'DEL', c2, 'plain2', { ipMasq: false })).exitCode, 0);
});

test('a host port already published elsewhere: ADD fails with 102 and rolls back its veth, address and rules', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await topo.sb.container('p1'), await topo.sb.container('p2')];
  const ports = { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } };
  t.is((await run(topo, 'ADD', c1, 'first', ports)).exitCode, 0);
  const before = await ruleset(topo);
  const r = await run(topo, 'ADD', c2, 'second', ports);
  t.is(r.exitCode, 1);
  t.is(r.json.code, 102, r.stdout);
  t.regex(r.json.msg, /8080/);
  t.deepEqual(await ruleset(topo), before, 'no rule of the refused ADD remains');
  const links = JSON.parse((await topo.sb.exec('ip', ['-j', 'link'], c2.path)).stdout).map((l: any) => l.ifname);
  t.deepEqual(links, ['lo'], 'the veth is gone');
  const held = readdirSync(join(topo.sb.stateDir, 'ipam', 'masqnet')).filter((f) => f.startsWith(SUBNET));
  t.is(held.length, 1, 'only the first container holds an address');
});

test('GC with the spec\'s top-level valid-attachments removes the rules, veth and address of the others', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await topo.sb.container('g1'), await topo.sb.container('g2')];
  const r1 = await run(topo, 'ADD', c1, 'gone');
  const r2 = await run(topo, 'ADD', c2, 'kept');
  t.is(r1.exitCode + r2.exitCode, 0);
  const [ip1, ip2] = [ipOf(r1), ipOf(r2)];
  const gc = await topo.sb.plugin('bridge', {
    command: 'GC',
    config: { ...bridgeConf(topo), 'cni.dev/valid-attachments': [{ containerID: 'kept', ifname: 'eth0' }] },
  });
  t.is(gc.exitCode, 0, gc.stdout);
  t.deepEqual(await rulesOf(topo, ip1), []);
  t.not((await rulesOf(topo, ip2)).length, 0);
  t.false(existsSync(join(topo.sb.stateDir, 'ipam', 'masqnet', ip1)));
  t.true(existsSync(join(topo.sb.stateDir, 'ipam', 'masqnet', ip2)));
  const veths = JSON.parse((await topo.sb.exec('ip', ['-j', 'link', 'show', 'master', 'ctbr1'])).stdout);
  t.is(veths.length, 1);
  await whoami(topo, topo.client.path, 7000);
  t.is(await reach(topo, c2.path, CLIENT4, 7000), HOST4, 'the kept container is still masqueraded');
});

test('isolateNetworks: containers of two isolated networks cannot reach each other, but reach the outside and each other\'s published ports', async (t) => {
  const topo = await topology(t);
  await whoami(topo, topo.client.path, 7000);
  const net = (n: number, extra: Record<string, unknown> = {}) => ({
    name: `iso${n}`,
    bridge: `ctiso${n}`,
    isolateNetworks: true,
    ipam: { type: 'host-local', dataDir: join(topo.sb.stateDir, 'ipam'), ranges: [[{ subnet: `10.9${n}.0.0/24` }]] },
    ...extra,
  });
  const [a, b, c] = [await topo.sb.container('ia'), await topo.sb.container('ib'), await topo.sb.container('ic')];
  const ra = await run(topo, 'ADD', a, 'a', net(1));
  const rb = await run(topo, 'ADD', b, 'b', net(2, { runtimeConfig: { portMappings: [{ hostPort: 8081, containerPort: 80 }] } }));
  // The reference behaviour: a network without the key is routed to both.
  const rc = await run(topo, 'ADD', c, 'c', net(3, { isolateNetworks: false, ipMasq: false }));
  t.is(ra.exitCode + rb.exitCode + rc.exitCode, 0, ra.stdout + rb.stdout + rc.stdout);
  for (const [ns, r] of [[a, ra], [b, rb], [c, rc]] as const) await serve(topo, ns.path, 80, ipOf(r));

  t.is(await probe(topo, a.path, ipOf(rb), 80), undefined, 'net1 -> net2 is dropped');
  t.is(await probe(topo, b.path, ipOf(ra), 80), undefined, 'net2 -> net1 is dropped');
  t.is(await reach(topo, a.path, HOST4, 8081), ipOf(rb), 'a published port of net2 is reachable from net1');
  t.is(await reach(topo, a.path, CLIENT4, 7000), HOST4, 'the outside is reachable');
  t.is(await reach(topo, c.path, ipOf(ra), 80), ipOf(ra), 'a non-isolating network is not cut off');
  t.is((await run(topo, 'DEL', b, 'b', net(2))).exitCode, 0);
  t.deepEqual((await ruleset(topo)).filter((l) => l.includes(`${ipOf(rb)}/`)), [], 'DEL removed the isolation rules');
});

test('icc=false turns bridged-traffic filtering on where it was off, so the isolation holds', async (t) => {
  const topo = await topology(t);
  const nf = (value?: string) => topo.sb.exec('sysctl', value ? ['-qw', `net.bridge.bridge-nf-call-iptables=${value}`] : ['-n', 'net.bridge.bridge-nf-call-iptables']);
  await nf('0');
  const [c1, c2] = [await topo.sb.container('i1'), await topo.sb.container('i2')];
  const r1 = await run(topo, 'ADD', c1, 'icc1', { icc: false });
  const r2 = await run(topo, 'ADD', c2, 'icc2', { icc: false });
  t.is(r1.exitCode + r2.exitCode, 0, r1.stdout + r2.stdout);
  t.is((await nf()).stdout.trim(), '1');
  await serve(topo, c1.path, 80, 'c1');
  t.is(await probe(topo, c2.path, ipOf(r1), 80), undefined, 'no traffic between the containers');
  t.is(await reach(topo, topo.sb.hostPath, ipOf(r1), 80), 'c1', 'the host still reaches them');
});
