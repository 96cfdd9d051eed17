// The portmap plugin in the sandbox with real TCP and UDP: published ports on every host address,
// 127.0.0.1, hairpin and from another machine; hostIP; DEL down to the last rule; host port
// conflicts; the UDP conntrack flush; IPv6; CHECK and GC; and the reference portmap as an oracle.
import test from 'ava';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { referenceCniBin } from './sandbox.js';
import { addContainer, GW4, GW6, HOST4, HOST6, portmapConfig, probe, reach, ruleset, runPlugin, serve, topology, type Ctr, type Topology } from '../nat/testing.js';
import type { PortMappingInput } from '../nat/types.js';

const add = (topo: Topology, c: Ctr, mappings: PortMappingInput[], extra: Record<string, unknown> = {}, binDir?: string) =>
  runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c, mappings, extra), containerId: c.id, netns: c.ns.path, ...(binDir ? { binDir } : {}) });
// DEL as a runtime without a result cache sends it: no prevResult, no capability arguments.
const del = (topo: Topology, c: Pick<Ctr, 'id'>, binDir?: string, mappings?: PortMappingInput[]) =>
  runPlugin(topo, 'portmap', {
    command: 'DEL',
    config: { cniVersion: '1.0.0', name: 'n1', type: 'portmap', ...(mappings ? { runtimeConfig: { portMappings: mappings } } : {}) },
    containerId: c.id,
    netns: '',
    ...(binDir ? { binDir } : {}),
  });
const check = (topo: Topology, c: Ctr, mappings: PortMappingInput[]) =>
  runPlugin(topo, 'portmap', { command: 'CHECK', config: portmapConfig(c, mappings), containerId: c.id, netns: c.ns.path });
const reservations = (topo: Topology) => readdirSync(join(topo.dataDir, 'ports')).filter((f) => f !== 'lock').sort();

const TCP_UDP: PortMappingInput[] = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 5353, containerPort: 53, protocol: 'udp' },
];

test('8080->80/tcp and 5353->53/udp answer on the host addresses, 127.0.0.1, by hairpin and from another machine; DEL leaves no rule of the container', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  await serve(topo, c1.ns.path, 80, 'tcp-c1');
  await serve(topo, c1.ns.path, 53, 'udp-c1', { udp: true });
  const before = await ruleset(topo);

  const r = await add(topo, c1, TCP_UDP);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.deepEqual(r.json.ips, [{ address: '10.88.0.2/24', gateway: '10.88.0.1', interface: 2 }], 'prevResult passes through');
  t.is((await topo.sb.exec('sysctl', ['-n', 'net.ipv4.conf.br-t.route_localnet'])).stdout.trim(), '1');
  const host = topo.sb.hostPath;
  const paths: Array<[string, string, string]> = [
    ['host ns -> its client-side address', host, HOST4],
    ['host ns -> its bridge address', host, GW4],
    ['host ns -> 127.0.0.1', host, '127.0.0.1'],
    ['other container -> host address (hairpin)', c2.ns.path, HOST4],
    ['other container -> gateway address (hairpin)', c2.ns.path, GW4],
    ['the container itself -> host address (hairpin on its own port)', c1.ns.path, HOST4],
    ['client namespace -> host address', topo.client.path, HOST4],
  ];
  for (const [what, from, to] of paths) {
    t.is(await reach(topo, from, to, 8080), 'tcp-c1', `tcp: ${what}`);
    t.is(await reach(topo, from, to, 5353, { udp: true }), 'udp-c1', `udp: ${what}`);
  }
  t.is((await check(topo, c1, TCP_UDP)).exitCode, 0);
  t.deepEqual(reservations(topo), ['tcp_0.0.0.0_8080-8080', 'udp_0.0.0.0_5353-5353']);

  // A second container's rules come and go without touching the first one's.
  const withC1 = await ruleset(topo);
  t.is((await add(topo, c2, [{ hostPort: 9090, containerPort: 80 }])).exitCode, 0);
  t.not((await ruleset(topo)).length, withC1.length);
  t.is((await del(topo, c2)).exitCode, 0);
  t.deepEqual(await ruleset(topo), withC1);

  const d = await del(topo, c1);
  t.is(d.exitCode, 0, d.stdout);
  const after = await ruleset(topo);
  const added = after.filter((l) => !before.includes(l));
  // What stays is the shared skeleton only: chains and jumps, nothing naming the container.
  t.true(added.every((l) => /^(\*|COMMIT|:CTNET-(DNAT|POSTROUTING|FORWARD|INPUT) |:(PREROUTING|INPUT|OUTPUT|POSTROUTING|FORWARD) |.*--comment "ctnet: )/.test(l)), added.join('\n'));
  t.false(after.some((l) => l.includes('10.88.0.2') || l.includes('id=ctr1') || l.includes('CTNET-DN-')));
  t.deepEqual(reservations(topo), []);
  t.is(await probe(topo, topo.client.path, HOST4, 8080), undefined);
  t.is((await del(topo, c1)).exitCode, 0, 'DEL again: nothing recorded, nothing to do');
});

test('with hostIP, the port answers on that address only; another address may publish the same port', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  await serve(topo, c1.ns.path, 80, 'c1');
  await serve(topo, c2.ns.path, 80, 'c2');
  t.is((await add(topo, c1, [{ hostPort: 8080, containerPort: 80, hostIP: HOST4 }])).exitCode, 0);
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c1');
  t.is(await probe(topo, topo.sb.hostPath, GW4, 8080), undefined);
  t.is(await probe(topo, topo.sb.hostPath, '127.0.0.1', 8080), undefined);
  // The bridge address is a different address: no conflict.
  const r = await add(topo, c2, [{ hostPort: 8080, containerPort: 80, hostIP: GW4 }]);
  t.is(r.exitCode, 0, r.stdout);
  t.is(await reach(topo, topo.sb.hostPath, GW4, 8080), 'c2');
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c1');
  t.deepEqual(reservations(topo), [`tcp_${HOST4}_8080-8080`, `tcp_${GW4}_8080-8080`]);
});

test('a host port already published is refused with code 102, and the first mapping keeps working', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  await serve(topo, c1.ns.path, 80, 'c1');
  await serve(topo, c2.ns.path, 80, 'c2');
  t.is((await add(topo, c1, [{ hostPort: 8080, containerPort: 80 }])).exitCode, 0);
  const rules = await ruleset(topo);
  for (const mappings of [
    [{ hostPort: 8080, containerPort: 80 }],
    [{ hostPort: 9000, containerPort: 80 }, { hostPort: 8080, containerPort: 80, hostIP: HOST4 }],
    [{ hostPort: 8000, containerPort: 80, hostPortEnd: 8100 } as PortMappingInput],
  ]) {
    const r = await add(topo, c2, mappings);
    t.is(r.exitCode, 1);
    t.like(r.json, { code: 102, msg: 'port 8080/tcp is already allocated on 0.0.0.0', details: 'held by container ctr1 (eth0) of network n1' });
  }
  t.deepEqual(await ruleset(topo), rules, 'a refused ADD leaves no rule behind');
  t.deepEqual(reservations(topo), ['tcp_0.0.0.0_8080-8080']);
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c1');
  // UDP on the same number is another port.
  t.is((await add(topo, c2, [{ hostPort: 8080, containerPort: 80, protocol: 'udp' }])).exitCode, 0);
  // Once the holder is gone, the port is free again.
  t.is((await del(topo, c1)).exitCode, 0);
  t.is((await add(topo, c2, [{ hostPort: 8080, containerPort: 80 }])).exitCode, 0);
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c2');
});

test('UDP: stale conntrack entries are flushed on DEL and ADD, so a re-used port reaches the new container', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  await serve(topo, c1.ns.path, 53, 'udp-c1', { udp: true });
  await serve(topo, c2.ns.path, 53, 'udp-c2', { udp: true });
  const mapping = [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }];
  const entries = async () => (await topo.sb.exec('conntrack', ['-L', '-p', 'udp', '--orig-port-dst', '5353'], topo.sb.hostPath, { reject: false })).stdout.trim();
  // The same client socket (source port) throughout: a stale entry would keep its old translation.
  const send = () => probe(topo, topo.client.path, HOST4, 5353, { udp: true, sourcePort: 40053 });
  // Retries keep the source port: a stale entry would catch every one of them.
  const sendUntilAnswered = () => reach(topo, topo.client.path, HOST4, 5353, { udp: true, sourcePort: 40053 });

  t.is((await add(topo, c1, mapping)).exitCode, 0);
  t.is(await sendUntilAnswered(), 'udp-c1');
  t.regex(await entries(), /dport=5353/);
  t.is((await del(topo, c1)).exitCode, 0);
  t.is(await entries(), '', 'DEL flushed the entry');
  // Traffic while nothing is published creates an entry without translation...
  t.is(await send(), undefined);
  t.regex(await entries(), /dport=5353/);
  // ...which ADD flushes, so the new container gets the traffic at once.
  t.is((await add(topo, c2, mapping)).exitCode, 0);
  t.is(await sendUntilAnswered(), 'udp-c2');
});

test('IPv6: a v6 container answers on the host\'s v6 addresses; an IPv4 hostIP does not apply to it', async (t) => {
  const topo = await topology(t, { v6: true });
  const c1 = await addContainer(topo, 1);
  await serve(topo, c1.ns.path, 80, 'c1');
  const r = await add(topo, c1, [
    { hostPort: 8080, containerPort: 80 },
    { hostPort: 8443, containerPort: 80, hostIP: HOST4 },
    { hostPort: 8444, containerPort: 80, hostIP: '::' },
  ]);
  t.is(r.exitCode, 0, r.stdout);
  t.is(await reach(topo, topo.client.path, HOST6, 8080), 'c1');
  t.is(await reach(topo, topo.sb.hostPath, GW6, 8080), 'c1');
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c1', 'and on v4, to its v4 address');
  t.is(await reach(topo, topo.client.path, HOST4, 8443), 'c1');
  t.is(await probe(topo, topo.client.path, HOST6, 8443), undefined);
  t.is(await reach(topo, topo.client.path, HOST6, 8444), 'c1');
  t.is(await probe(topo, topo.client.path, HOST4, 8444), undefined);
  t.deepEqual(reservations(topo), ['tcp_0.0.0.0_8080-8080', `tcp_${HOST4}_8443-8443`, 'tcp_::_8080-8080', 'tcp_::_8444-8444']);
  const v6Rules = (await ruleset(topo, 6)).join('\n');
  t.regex(v6Rules, /-j DNAT --to-destination \[fd88::2\]:80/);
  t.is((await del(topo, c1)).exitCode, 0);
  t.false((await ruleset(topo, 6)).some((l) => l.includes('fd88::2')));
});

test('CHECK fails with 105 once a rule is gone; GC removes what the runtime no longer knows, even without a record', async (t) => {
  const topo = await topology(t);
  const [c1, c2, c3] = [await addContainer(topo, 1), await addContainer(topo, 2), await addContainer(topo, 3)];
  const m = (port: number) => [{ hostPort: port, containerPort: 80 }];
  for (const [c, port] of [[c1, 8081], [c2, 8082], [c3, 8083]] as const) t.is((await add(topo, c, m(port))).exitCode, 0);
  // Someone deletes one of c1's accept rules.
  const accept = (await ruleset(topo)).find((l) => l.includes('id=ctr1') && l.startsWith('-A CTNET-FORWARD') && l.includes('ORIGINAL'))!;
  await topo.sb.exec('iptables-restore', ['--noflush'], topo.sb.hostPath, { input: `*filter\n-D${accept.slice(2)}\nCOMMIT\n` });
  const c = await check(topo, c1, m(8081));
  t.is(c.exitCode, 1);
  t.is(c.json.code, 105);
  t.regex(c.json.msg, /^IPv4 firewall rule filter CTNET-FORWARD -d 10\.88\.0\.2\/32 .* is missing$/);

  // DEL of the damaged attachment still removes everything: its exact deletes fail on the missing
  // rule, and the fallback finds the rest by tag.
  t.is((await del(topo, c1)).exitCode, 0);
  t.false((await ruleset(topo)).some((l) => l.includes('id=ctr1')));
  t.false(reservations(topo).includes('tcp_0.0.0.0_8081-8081'));

  // c3's record is lost: GC finds its rules by their tags.
  const recordDir = join(topo.dataDir, 'attachments');
  for (const f of readdirSync(recordDir)) {
    if (JSON.parse(readFileSync(join(recordDir, f), 'utf8')).containerId === 'ctr3') rmSync(join(recordDir, f));
  }
  const gc = await runPlugin(topo, 'portmap', { command: 'GC', config: { cniVersion: '1.1.0', name: 'n1', type: 'portmap', 'cni.dev/valid-attachments': [{ containerID: 'ctr2', ifname: 'eth0' }] } });
  t.is(gc.exitCode, 0, gc.stdout);
  const rules = await ruleset(topo);
  t.false(rules.some((l) => l.includes('id=ctr3')));
  t.true(rules.some((l) => l.includes('id=ctr2')));
  t.deepEqual(reservations(topo), ['tcp_0.0.0.0_8082-8082']);
  t.is((await check(topo, c2, m(8082))).exitCode, 0);
  // No list: nothing is touched.
  t.is((await runPlugin(topo, 'portmap', { command: 'GC', config: { cniVersion: '1.1.0', name: 'n1', type: 'portmap' } })).exitCode, 0);
  t.true((await ruleset(topo)).some((l) => l.includes('id=ctr2')));

  // A DEL that runs with another data dir (a runtime that did not pass the environment on) finds
  // no record, and removes the rules by their tags all the same.
  const elsewhere = await runPlugin(topo, 'portmap', { command: 'DEL', config: { cniVersion: '1.0.0', name: 'n1', type: 'portmap' }, containerId: c2.id, netns: '', env: { CTNET_NAT_DATA_DIR: join(topo.dataDir, 'other') } });
  t.is(elsewhere.exitCode, 0, elsewhere.stdout);
  t.false((await ruleset(topo)).some((l) => l.includes('id=ctr2')));
});

test('oracle: the reference portmap gives the same reachability for the same mappings', async (t) => {
  const matrix = async (binDir?: string) => {
    const topo = await topology(t);
    const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
    await serve(topo, c1.ns.path, 80, 'tcp-c1');
    await serve(topo, c1.ns.path, 53, 'udp-c1', { udp: true });
    // The reference needs every protocol spelled out.
    const mappings = [...TCP_UDP, { hostPort: 8090, containerPort: 80, protocol: 'tcp', hostIP: HOST4 }];
    const r = await add(topo, c1, mappings, {}, binDir);
    t.is(r.exitCode, 0, r.stdout + r.stderr);
    const out: Record<string, string | undefined> = {};
    for (const [what, from, to, port, udp] of [
      ['client->host:8080', topo.client.path, HOST4, 8080, false],
      ['client->host:5353/udp', topo.client.path, HOST4, 5353, true],
      ['host->127.0.0.1:8080', topo.sb.hostPath, '127.0.0.1', 8080, false],
      ['host->bridge:8080', topo.sb.hostPath, GW4, 8080, false],
      ['c2->host:8080 (hairpin)', c2.ns.path, HOST4, 8080, false],
      ['client->host:8090 (hostIP)', topo.client.path, HOST4, 8090, false],
      ['host->bridge:8090 (other address)', topo.sb.hostPath, GW4, 8090, false],
      ['client->container:80 directly', topo.client.path, c1.ip4, 80, false],
    ] as const) {
      out[what] = to === GW4 && port === 8090 ? await probe(topo, from, to, port, { udp }) : await reach(topo, from, to, port, { udp });
    }
    const d = await del(topo, c1, binDir, mappings);
    t.is(d.exitCode, 0, d.stdout);
    t.false((await ruleset(topo)).some((l) => l.includes(c1.ip4)), 'DEL leaves no rule of the container');
    return out;
  };
  const [ours, reference] = await Promise.all([matrix(), matrix(referenceCniBin)]);
  t.log(ours);
  t.deepEqual(ours, reference);
  t.is(ours['client->container:80 directly'], 'tcp-c1', 'FORWARD policy ACCEPT: the container is routable, as with the reference');
});
