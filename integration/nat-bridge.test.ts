// The library as the bridge plugin calls it (in-process, in the host namespace): masquerade,
// forwarding under a DROP policy, icc=false and internal, with real traffic; teardown restores the
// ruleset.
import test from 'ava';
import { addContainer, BRIDGE, CLIENT4, GW4, HOST4, inHost, probe, reach, ruleset, serve, topology, whoami, type Ctr, type Topology } from '../nat/testing.js';
import type { ContainerSpec } from '../nat/types.js';

const spec = (c: Ctr, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  network: 'n1',
  containerId: c.id,
  ifname: 'eth0',
  owner: 'bridge',
  bridge: BRIDGE,
  ips: [`${c.ip4}/24`],
  forward: 'all',
  ...extra,
});

const setup = (topo: Topology, specs: ContainerSpec[]) => inHost(topo, `for (const s of ${JSON.stringify(specs)}) await fw.setupContainer(s);`);

test('masquerade and forward "all" under a FORWARD DROP policy: egress masqueraded, the subnet not, published ports in, nothing else', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  await whoami(topo, topo.client.path, 7000);
  await whoami(topo, c2.ns.path, 7001);
  await serve(topo, c1.ns.path, 80, 'c1');
  await serve(topo, c1.ns.path, 81, 'c1-unpublished');
  await topo.sb.exec('iptables', ['-P', 'FORWARD', 'DROP']);
  const before = await ruleset(topo);
  await setup(topo, [spec(c1, { masquerade: true, portMappings: [{ hostPort: 8080, containerPort: 80 }] }), spec(c2)]);

  t.is(await reach(topo, c1.ns.path, CLIENT4, 7000), HOST4, 'masqueraded behind the host address');
  t.is(await reach(topo, c2.ns.path, CLIENT4, 7000), c2.ip4, 'no masquerade asked: the client routes back');
  t.is(await reach(topo, c1.ns.path, c2.ip4, 7001), c1.ip4, 'the own subnet is not masqueraded, and icc passes the DROP policy');
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c1');
  t.is(await probe(topo, topo.client.path, c1.ip4, 81), undefined);
  await inHost(topo, `await fw.checkContainer(${JSON.stringify(spec(c1, { masquerade: true, portMappings: [{ hostPort: 8080, containerPort: 80 }] }))});`);
  const missing = await inHost<string>(topo, `try { await fw.checkContainer(${JSON.stringify(spec(c1, { portMappings: [{ hostPort: 9999, containerPort: 80 }] }))}); return 'ok'; } catch (e) { return e.code + ' ' + e.message; }`);
  t.regex(missing, /^105 /);

  await inHost(topo, `for (const id of ['ctr1', 'ctr2']) await fw.teardownContainer({ network: 'n1', containerId: id, ifname: 'eth0', owner: 'bridge' });`);
  const after = (await ruleset(topo)).filter((l) => !before.includes(l));
  t.false(after.some((l) => l.includes('10.88.0.')), after.join('\n'));
  t.is(await probe(topo, c2.ns.path, CLIENT4, 7000), undefined, 'the DROP policy rules again');
});

test('icc=false isolates containers on the bridge except through published ports; internal keeps traffic on the bridge', async (t) => {
  const topo = await topology(t);
  const [c1, c2, c3, c4] = [await addContainer(topo, 1), await addContainer(topo, 2), await addContainer(topo, 3), await addContainer(topo, 4)];
  await serve(topo, c1.ns.path, 80, 'c1');
  await serve(topo, c4.ns.path, 80, 'c4');
  await serve(topo, topo.client.path, 7000, 'client');
  // The network's shared chains up front, both families, as the Docker driver does at network creation.
  await inHost(topo, `await fw.setupNetwork({ network: 'n1', bridge: '${BRIDGE}' });`);
  t.true((await ruleset(topo, 6)).includes('-A FORWARD -m comment --comment "ctnet: container forwarding" -j CTNET-FORWARD'));
  t.is((await topo.sb.exec('sysctl', ['-n', `net.ipv4.conf.${BRIDGE}.route_localnet`])).stdout.trim(), '1');
  await setup(topo, [
    spec(c1, { icc: false, masquerade: true, portMappings: [{ hostPort: 8080, containerPort: 80 }] }),
    spec(c2, { icc: false, masquerade: true }),
    spec(c3, { internal: true }),
    spec(c4),
  ]);
  t.is(await probe(topo, c2.ns.path, c1.ip4, 80), undefined, 'icc=false: no direct connection');
  t.is(await reach(topo, c2.ns.path, GW4, 8080), 'c1', 'but the published port, by hairpin');
  t.is(await reach(topo, c1.ns.path, CLIENT4, 7000), 'client', 'and the way out');
  t.is(await probe(topo, c3.ns.path, CLIENT4, 7000), undefined, 'internal: no way out');
  t.is(await reach(topo, c3.ns.path, c4.ip4, 80), 'c4', 'internal: the bridge is fine');
  t.is(await probe(topo, c3.ns.path, c1.ip4, 80), undefined, 'except towards an isolated container');
  const rules = await ruleset(topo);
  t.is(rules.filter((l) => l.startsWith('-A CTNET-FORWARD'))[0], '-A CTNET-FORWARD -m comment --comment "ctnet: isolation before accepts" -j CTNET-ISOLATION');
  await inHost(topo, `await fw.gc('n1', [{ containerID: 'ctr4', ifname: 'eth0' }], { owner: 'bridge' });`);
  t.deepEqual(
    (await ruleset(topo)).filter((l) => l.includes('net=n1')).map((l) => /id=(\w+)/.exec(l)![1]),
    ['ctr4', 'ctr4'],
    'GC left only the valid attachment',
  );
  await inHost(topo, `await fw.teardownNetwork({ network: 'n1' });`);
  t.false((await ruleset(topo)).some((l) => l.includes('net=n1')));
});
