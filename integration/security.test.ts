// What the rules promise, tested from the attacker's side: a port published on 127.0.0.1 stays on
// the host's loopback (not reachable through the host's other addresses, nor by a neighbour that
// routes packets for 127.0.0.1 at the host, CVE-2020-8558), and no rule ctnet installs accepts or
// translates traffic for an address that is not a container's.
import test from 'ava';
import { addContainer, CLIENT4, GW4, HOST4, portmapConfig, probe, reach, ruleset, runPlugin, serve, topology, type Ctr, type Topology } from '../nat/testing.js';
import type { PortMappingInput } from '../nat/types.js';

const portmap = (topo: Topology, c: Ctr, mappings: PortMappingInput[]) =>
  runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c, mappings), containerId: c.id, netns: c.ns.path });

test('a port published on 127.0.0.1 answers on the host loopback only: not via other addresses, not to a neighbour routing 127.0.0.1 at the host', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  await serve(topo, c1.ns.path, 80, 'c1');
  const r = await portmap(topo, c1, [{ hostPort: 8080, containerPort: 80, hostIP: '127.0.0.1' }]);
  t.is(r.exitCode, 0, r.stdout);
  t.is(await reach(topo, topo.sb.hostPath, '127.0.0.1', 8080), 'c1', 'the host itself');
  t.is(await probe(topo, topo.client.path, HOST4, 8080), undefined, 'another machine, via the host address');
  t.is(await probe(topo, c2.ns.path, GW4, 8080), undefined, 'a container, via the gateway');
  t.is(await probe(topo, c2.ns.path, HOST4, 8080), undefined, 'a container, via the host address');

  // The neighbour sends packets for 127.0.0.1 to the host's MAC: its own loopback is down (so its
  // local 127/8 routes are gone) and it routes 127.0.0.0/8 via the host. Current kernels drop such
  // packets in conntrack before any DNAT; older ones rely on ctnet never opening the path
  // (route_localnet only on the bridge, the INPUT guard), which this keeps checking.
  const client = (args: string[]) => topo.sb.exec(args[0]!, args.slice(1), topo.client.path);
  await client(['ip', 'link', 'set', 'lo', 'down']);
  await client(['sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1', 'net.ipv4.conf.eth0.route_localnet=1']);
  await client(['ip', 'route', 'add', '127.0.0.0/8', 'via', HOST4, 'dev', 'eth0', 'src', CLIENT4]);
  t.is(await probe(topo, topo.client.path, '127.0.0.1', 8080), undefined, 'a neighbour routing 127.0.0.1 at the host');
  // The same trick reaches nothing else either, and the host's own use still works.
  t.is(await reach(topo, topo.sb.hostPath, '127.0.0.1', 8080), 'c1');
});

test('every ACCEPT, DNAT and MASQUERADE rule ctnet installs names a container address', async (t) => {
  const topo = await topology(t, { v6: true });
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  const mappings: PortMappingInput[] = [
    { hostPort: 8080, containerPort: 80 },
    { hostPort: 5353, containerPort: 53, protocol: 'udp' },
    { hostPort: 9000, hostPortEnd: 9009, containerPort: 9000 },
    { hostPort: 8443, containerPort: 443, hostIP: '127.0.0.1' },
  ];
  t.is((await portmap(topo, c1, mappings)).exitCode, 0);
  t.is((await runPlugin(topo, 'firewall', { command: 'ADD', config: { cniVersion: '1.0.0', name: 'n1', type: 'firewall', ingressPolicy: 'same-bridge', prevResult: c2.prevResult }, containerId: c2.id, netns: c2.ns.path })).exitCode, 0);
  const containers = [c1.ip4, c1.ip6!, c2.ip4, c2.ip6!];
  const namesContainer = (rule: string) => containers.some((ip) => new RegExp(`(-[sd] ${ip.replace(/[.:]/g, '\\$&')}/(32|128)|--to-destination \\[?${ip.replace(/[.:]/g, '\\$&')}\\]?)(\\s|:|$)`).test(rule));
  for (const family of [4, 6] as const) {
    const rules = (await ruleset(topo, family)).filter((l) => l.startsWith('-A ') && / -j (ACCEPT|DNAT|MASQUERADE)\b/.test(l));
    t.true(rules.length > 5, `IPv${family} has rules to check`);
    // The one shared exception: masquerade of packets marked by a container's own DNAT rules.
    const loose = rules.filter((l) => !namesContainer(l) && !/--mark 0x2000\/0x2000 .* -j MASQUERADE/.test(l));
    t.deepEqual(loose, [], `IPv${family}: rules not bound to a container address`);
  }
});
