// The firewall plugin (reference iptables layout) and a FORWARD DROP policy, as Docker sets it:
// published ports and container egress keep working through the accept rules, nothing else opens.
import test, { type ExecutionContext } from 'ava';
import { addContainer, BRIDGE, CLIENT4, HOST4, portmapConfig, probe, reach, ruleset, runPlugin, serve, topology, type Ctr, type Topology } from '../nat/testing.js';
import { referenceCniBin } from './sandbox.js';

const fwConfig = (c: Ctr, extra: Record<string, unknown> = {}) => ({ cniVersion: '1.0.0', name: 'n1', type: 'firewall', prevResult: c.prevResult, ...extra });
const fw = (topo: Topology, command: string, c: Ctr, extra: Record<string, unknown> = {}, binDir?: string) =>
  runPlugin(topo, 'firewall', { command, config: fwConfig(c, extra), containerId: c.id, netns: c.ns.path, ...(binDir ? { binDir } : {}) });

test('FORWARD policy DROP: the published port and the container\'s egress work, an unpublished port stays closed', async (t) => {
  const topo = await topology(t);
  const c1 = await addContainer(topo, 1);
  await serve(topo, c1.ns.path, 80, 'published');
  await serve(topo, c1.ns.path, 81, 'unpublished');
  await serve(topo, topo.client.path, 7000, 'client');
  await topo.sb.exec('iptables', ['-P', 'FORWARD', 'DROP']);
  const before = await ruleset(topo);

  const pm = await runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c1, [{ hostPort: 8080, containerPort: 80 }]), containerId: c1.id, netns: c1.ns.path });
  t.is(pm.exitCode, 0, pm.stdout);
  // Chained after portmap: its prevResult is portmap's output.
  const f = await runPlugin(topo, 'firewall', { command: 'ADD', config: { ...fwConfig(c1), prevResult: pm.json }, containerId: c1.id, netns: c1.ns.path });
  t.is(f.exitCode, 0, f.stdout);
  t.deepEqual(f.json, pm.json);

  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'published');
  t.is(await reach(topo, c1.ns.path, CLIENT4, 7000), 'client', 'egress, and its return traffic');
  t.is(await probe(topo, topo.client.path, c1.ip4, 81), undefined, 'an unpublished port, routed directly');
  t.is(await probe(topo, topo.client.path, c1.ip4, 80), undefined, 'the published container port, bypassing the host port');
  t.is((await fw(topo, 'CHECK', c1)).exitCode, 0);
  t.regex((await ruleset(topo)).join('\n'), /-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD/);

  // Without firewall's accepts, egress stops at the DROP policy: the rules are what opened it.
  t.is((await fw(topo, 'DEL', c1)).exitCode, 0);
  t.is(await probe(topo, c1.ns.path, CLIENT4, 7000), undefined);
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'published', 'portmap\'s own accepts still carry the published port');
  t.is((await fw(topo, 'DEL', c1)).exitCode, 0, 'DEL twice');
  const d = await runPlugin(topo, 'portmap', { command: 'DEL', config: { cniVersion: '1.0.0', name: 'n1', type: 'portmap' }, containerId: c1.id, netns: '' });
  t.is(d.exitCode, 0);
  t.is(await probe(topo, topo.client.path, HOST4, 8080), undefined);
  const leftover = (await ruleset(topo)).filter((l) => !before.includes(l));
  t.false(leftover.some((l) => l.includes(c1.ip4)), leftover.join('\n'));
});

test('firewall: the reference plugin\'s rules, CHECK, DEL without prevResult, GC, and the reference DEL tolerates ours', async (t) => {
  const topo = await topology(t);
  const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
  const before = await ruleset(topo);
  for (const c of [c1, c2]) t.is((await fw(topo, 'ADD', c)).exitCode, 0);
  const rules = await ruleset(topo);
  t.is(rules.filter((l) => l === '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD').length, 1, 'jumped to once');
  t.true(rules.includes('-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN'));
  t.true(rules.some((l) => l.startsWith('-A CNI-FORWARD -d 10.88.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED') && l.includes('firewall net=n1 id=ctr1')));
  t.true(rules.some((l) => l.startsWith('-A CNI-FORWARD -s 10.88.0.3/32') && l.endsWith('-j ACCEPT')));

  // Someone deletes c1's egress rule: CHECK notices.
  const egress = rules.find((l) => l.startsWith('-A CNI-FORWARD -s 10.88.0.2/32'))!;
  await topo.sb.exec('iptables-restore', ['--noflush'], topo.sb.hostPath, { input: `*filter\n-D${egress.slice(2)}\nCOMMIT\n` });
  const broken = await fw(topo, 'CHECK', c1);
  t.is(broken.exitCode, 1);
  t.is(broken.json.code, 105);

  const gc = await runPlugin(topo, 'firewall', { command: 'GC', config: { cniVersion: '1.1.0', name: 'n1', type: 'firewall', 'cni.dev/valid-attachments': [{ containerID: c1.id, ifname: 'eth0' }] } });
  t.is(gc.exitCode, 0, gc.stdout);
  t.false((await ruleset(topo)).some((l) => l.includes('10.88.0.3')));
  const del = await runPlugin(topo, 'firewall', { command: 'DEL', config: { cniVersion: '1.0.0', name: 'n1', type: 'firewall' }, containerId: c1.id, netns: '' });
  t.is(del.exitCode, 0);
  const after = (await ruleset(topo)).filter((l) => !before.includes(l));
  t.false(after.some((l) => l.includes('10.88.0.')), after.join('\n'));
  // The reference plugin's DEL on the shared chains ctnet created: no error, nothing broken.
  t.is((await fw(topo, 'DEL', c2, {}, referenceCniBin)).exitCode, 0);
});

/** Containers a1 and a2 on the topology's bridge, b1 on a second bridge br-u; a1 serves on port 80. */
async function twoBridges(t: ExecutionContext) {
  const topo = await topology(t);
  await topo.sb.exec('ip', ['link', 'add', 'br-u', 'type', 'bridge']);
  await topo.sb.exec('ip', ['addr', 'add', '10.89.0.1/24', 'dev', 'br-u']);
  await topo.sb.exec('ip', ['link', 'set', 'br-u', 'up']);
  const [a1, a2, b1] = [await addContainer(topo, 1), await addContainer(topo, 2), await addContainer(topo, 3, 'br-u', '10.89.0')];
  await serve(topo, a1.ns.path, 80, 'a1');
  return { topo, a1, a2, b1 };
}

test('ingressPolicy same-bridge: another bridge cannot reach the container, its own bridge and the outside can', async (t) => {
  const { topo, a1, a2, b1 } = await twoBridges(t);
  t.is(await reach(topo, b1.ns.path, a1.ip4, 80), 'a1', 'open before the policy');
  for (const c of [a1, a2, b1]) t.is((await fw(topo, 'ADD', c, { ingressPolicy: 'same-bridge' })).exitCode, 0);
  t.is(await probe(topo, b1.ns.path, a1.ip4, 80), undefined, 'from the other bridge');
  t.is(await reach(topo, a2.ns.path, a1.ip4, 80), 'a1', 'from the same bridge');
  t.is(await reach(topo, topo.client.path, a1.ip4, 80), 'a1', 'from outside any bridge');
  const rules = await ruleset(topo);
  t.is(rules.filter((l) => l.includes('-j CNI-ISOLATION-STAGE-1')).length, 1);
  t.deepEqual(
    rules.filter((l) => l.startsWith('-A CNI-ISOLATION-STAGE-2')),
    [
      '-A CNI-ISOLATION-STAGE-2 -o br-u -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP',
      `-A CNI-ISOLATION-STAGE-2 -o ${BRIDGE} -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP`,
      '-A CNI-ISOLATION-STAGE-2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN',
    ],
  );
  // FORWARD: the isolation stage comes before CNI-FORWARD.
  const forward = rules.filter((l) => l.startsWith('-A FORWARD'));
  t.true(forward[0]!.includes('CNI-ISOLATION-STAGE-1') && forward[1]!.includes('-j CNI-FORWARD'), forward.join('\n'));
  t.is((await fw(topo, 'CHECK', a1, { ingressPolicy: 'same-bridge' })).exitCode, 0);
  const bad = await fw(topo, 'ADD', a1, { ingressPolicy: 'closed' });
  t.like(bad.json, { code: 7 });
});

test('ingressPolicy isolated: neither another bridge nor the own bridge reaches the container; the outside does', async (t) => {
  const { topo, a1, a2, b1 } = await twoBridges(t);
  t.is(await reach(topo, a2.ns.path, a1.ip4, 80), 'a1', 'open before the policy');
  for (const c of [a1, a2, b1]) t.is((await fw(topo, 'ADD', c, { ingressPolicy: 'isolated' })).exitCode, 0);
  t.is(await probe(topo, a2.ns.path, a1.ip4, 80), undefined, 'from the same bridge');
  t.is(await probe(topo, b1.ns.path, a1.ip4, 80), undefined, 'from the other bridge');
  t.is(await reach(topo, topo.client.path, a1.ip4, 80), 'a1', 'from outside any bridge');
  t.is((await fw(topo, 'CHECK', a1, { ingressPolicy: 'isolated' })).exitCode, 0);
});
