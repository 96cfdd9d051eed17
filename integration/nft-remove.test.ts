// DEL through nf_tables (nat/nft-remove.ts): with iptables-nft, an attachment's rules and chains go
// in one nf_tables transaction and no iptables program runs; with legacy iptables (rules in
// x_tables, nothing in nf_tables) the same DEL takes the iptables-restore path. Programs are seen
// through a PATH of logging wrappers in front of the real ones.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachmentKey } from '../nat/names.js';
import type { AttachmentRecord } from '../nat/records.js';
import { addContainer, HOST4, iptablesWrappers as wrappers, portmapConfig, probe, reach, runPlugin, serve, topology, type Ctr, type Topology } from '../nat/testing.js';

async function saved(topo: Topology, variant: 'nft' | 'legacy'): Promise<string[]> {
  const r = await topo.sb.exec(`iptables-${variant}-save`, []);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

const keyOf = (c: Ctr) => attachmentKey({ owner: 'portmap', network: 'n1', containerId: c.id, ifname: 'eth0' });

for (const variant of ['nft', 'legacy'] as const) {
  test(`portmap DEL with iptables-${variant}: ${variant === 'nft' ? 'no iptables program runs' : 'through iptables-restore'}, the other attachment's rules stay in order and keep working`, async (t) => {
    const topo = await topology(t);
    const ipt = wrappers(t, variant);
    const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
    await serve(topo, c1.ns.path, 80, 'one');
    await serve(topo, c2.ns.path, 80, 'two');
    for (const [c, port] of [[c1, 8080], [c2, 8081]] as const) {
      const add = await runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c, [{ hostPort: port, containerPort: 80 }]), containerId: c.id, netns: c.ns.path, env: ipt.env });
      t.is(add.exitCode, 0, add.stdout);
    }
    t.true(ipt.take().includes('iptables-restore'), 'ADD ran iptables-restore through the wrappers');
    t.is(await reach(topo, topo.client.path, HOST4, 8080), 'one');
    const before = await saved(topo, variant);
    t.true(before.some((l) => l.includes(keyOf(c1))) && before.some((l) => l.includes(keyOf(c2))), before.join('\n'));

    const del = await runPlugin(topo, 'portmap', { command: 'DEL', config: { cniVersion: '1.0.0', name: 'n1', type: 'portmap' }, containerId: c1.id, netns: '', env: ipt.env });
    t.is(del.exitCode, 0, del.stdout);
    const ran = ipt.take();
    if (variant === 'nft') t.deepEqual(ran, []);
    else t.true(ran.includes('iptables-restore'), ran.join(', '));

    // Exactly c1's lines are gone (its rules carry its key in their tag, its chains in their name).
    t.deepEqual(await saved(topo, variant), before.filter((l) => !l.includes(keyOf(c1))));
    t.deepEqual(await saved(topo, variant === 'nft' ? 'legacy' : 'nft').then((ls) => ls.filter((l) => l.includes('ctnet'))), [], 'nothing in the other variant');
    t.is(await probe(topo, topo.client.path, HOST4, 8080), undefined);
    t.is(await reach(topo, topo.client.path, HOST4, 8081), 'two');
  });
}

test('portmap DEL through nf_tables when a rule of the attachment is gone already: the rest still goes, in one run', async (t) => {
  const topo = await topology(t);
  const ipt = wrappers(t, 'nft');
  const c1 = await addContainer(topo, 1);
  const add = await runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c1, [{ hostPort: 8080, containerPort: 80 }]), containerId: c1.id, netns: c1.ns.path, env: ipt.env });
  t.is(add.exitCode, 0, add.stdout);
  const before = await saved(topo, 'nft');
  // Someone deleted the jump into c1's DNAT chain by hand.
  const jump = before.find((l) => l.startsWith('-A CTNET-DNAT') && l.includes(keyOf(c1)));
  t.truthy(jump, before.join('\n'));
  await topo.sb.exec('iptables-nft-restore', ['--noflush'], topo.sb.hostPath, { input: `*nat\n-D${jump!.slice(2)}\nCOMMIT\n` });
  ipt.take();

  const del = await runPlugin(topo, 'portmap', { command: 'DEL', config: { cniVersion: '1.0.0', name: 'n1', type: 'portmap' }, containerId: c1.id, netns: '', env: ipt.env });
  t.is(del.exitCode, 0, del.stdout);
  t.deepEqual(ipt.take(), []);
  t.deepEqual((await saved(topo, 'nft')).filter((l) => l.includes(keyOf(c1))), []);
});

test('portmap DEL through nf_tables by the handles its ADD recorded; a handle that names another attachment\'s rule now is not trusted: the rule is found by its tag, and the other attachment keeps its rules', async (t) => {
  const topo = await topology(t);
  const ipt = wrappers(t, 'nft');
  const cs = [await addContainer(topo, 1), await addContainer(topo, 2), await addContainer(topo, 3)];
  for (const [i, c] of cs.entries()) {
    await serve(topo, c.ns.path, 80, `c${i + 1}`);
    const add = await runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c, [{ hostPort: 8080 + i, containerPort: 80 }]), containerId: c.id, netns: c.ns.path, env: ipt.env });
    t.is(add.exitCode, 0, add.stdout);
  }
  const [c1, c2, c3] = cs as [Ctr, Ctr, Ctr];
  const recordPath = (c: Ctr) => join(topo.dataDir, 'attachments', `${keyOf(c)}.json`);
  const record = (c: Ctr) => JSON.parse(readFileSync(recordPath(c), 'utf8')) as AttachmentRecord;
  const handles = (c: Ctr) => record(c).families.flatMap((f) => f.owned.rules.map((r) => r.handle));
  t.true(handles(c1).every((h) => h === undefined), 'the first ADD went through iptables-restore: no handles');
  t.true(handles(c2).some((h) => h !== undefined) && handles(c3).some((h) => h !== undefined), JSON.stringify([handles(c2), handles(c3)]));

  // c2's record now says c3's handles, as if c2's rules had gone and c3's taken their handles.
  const stale = record(c2);
  const theirs = record(c3);
  stale.families.forEach((f, i) => f.owned.rules.forEach((r, j) => (r.handle = theirs.families[i]!.owned.rules[j]!.handle)));
  writeFileSync(recordPath(c2), JSON.stringify(stale));
  ipt.take();
  const before = await saved(topo, 'nft');
  const del = (c: Ctr) => runPlugin(topo, 'portmap', { command: 'DEL', config: { cniVersion: '1.0.0', name: 'n1', type: 'portmap' }, containerId: c.id, netns: '', env: ipt.env });
  t.is((await del(c2)).exitCode, 0);
  t.deepEqual(ipt.take(), [], 'still no iptables program');
  t.deepEqual(await saved(topo, 'nft'), before.filter((l) => !l.includes(keyOf(c2))), 'exactly c2\'s lines are gone');
  t.is(await reach(topo, topo.client.path, HOST4, 8082), 'c3');

  // c3's own handles are right: its rules go by them, c1's stay.
  t.is((await del(c3)).exitCode, 0);
  t.deepEqual(ipt.take(), []);
  t.deepEqual(await saved(topo, 'nft'), before.filter((l) => !l.includes(keyOf(c2)) && !l.includes(keyOf(c3))));
  t.is(await probe(topo, topo.client.path, HOST4, 8082), undefined);
  t.is(await reach(topo, topo.client.path, HOST4, 8080), 'c1');
});
