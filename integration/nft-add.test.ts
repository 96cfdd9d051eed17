// ADD through nf_tables (nat/nft-apply.ts, nat/nft-encoding.ts). The oracle is iptables-nft
// itself: every rule shape ctnet's layouts write is applied through iptables-restore in one sandbox
// and through nf_tables in another, and the two must hold the same expressions byte for byte and
// print the same iptables-save text; iptables -C must then find each rule and -D remove it. Then,
// through the portmap plugin: once the shared chains exist, an ADD runs no iptables program and
// its port answers; with legacy iptables every ADD goes through iptables-restore.
import test from 'ava';
import { join } from 'node:path';
import { planCniFirewall } from '../nat/cni-firewall.js';
import { planAttachment } from '../nat/layout.js';
import type { FamilyPlan } from '../nat/rule.js';
import { addContainer, HOST4, iptablesWrappers, portmapConfig, reach, runPlugin, serve, topology } from '../nat/testing.js';
import type { ContainerSpec } from '../nat/types.js';
import { repoRoot, Sandbox } from './sandbox.js';

const worker = join(repoRoot, 'integration', 'nft-add-worker.ts');

async function inSandbox<T>(sb: Sandbox, input: object): Promise<T> {
  // The worker's rule-engine lock lives in the sandbox's state dir, which teardown removes.
  const r = await sb.exec(process.execPath, ['--import=tsx', worker], sb.hostPath, { input: JSON.stringify({ ...input, lockDir: sb.stateDir }), timeout: 120_000 });
  return JSON.parse(r.stdout) as T;
}

async function saveText(sb: Sandbox, family: 4 | 6): Promise<string[]> {
  const r = await sb.exec(family === 4 ? 'iptables-nft-save' : 'ip6tables-nft-save', []);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

/** Every chain of the family's iptables-save text, as [family, table, chain]. */
function chainsOf(family: 4 | 6, lines: readonly string[]): Array<[4 | 6, string, string]> {
  let table = '';
  const out: Array<[4 | 6, string, string]> = [];
  for (const l of lines) {
    if (l.startsWith('*')) table = l.slice(1);
    else if (l.startsWith(':')) out.push([family, table, l.slice(1).split(' ')[0]!]);
  }
  return out;
}

/** An attachment's own line: a rule carrying a tag (ctnet:<key> ...), or its DNAT chain. */
const isOwned = (line: string) => /ctnet:[0-9a-f]|CTNET-DN-/.test(line);

const base = { network: 'n1', ifname: 'eth0', bridge: 'br-t', owner: 'bridge' };
const specs: ContainerSpec[] = [
  {
    ...base,
    containerId: 'published',
    ips: ['10.88.0.5/24', 'fd88::5/64'],
    masquerade: true,
    portMappings: [
      { hostPort: 8080, containerPort: 80 },
      { hostPort: 9000, hostPortEnd: 9010, containerPort: 5000, protocol: 'udp' },
      { hostPort: 7000, hostPortEnd: 7002, containerPort: 7000 },
      { hostPort: 8443, containerPort: 443, hostIP: '127.0.0.1' },
      { hostPort: 8444, containerPort: 443, hostIP: 'fd88::1' },
    ],
  },
  { ...base, containerId: 'isolated', ips: ['10.88.0.6/24', 'fd88::6/64'], forward: 'all', icc: false, internal: true, isolateNetworks: true, masquerade: true },
  { ...base, containerId: 'masq-all', ips: ['10.88.1.7/23'], nat: { masqAll: true, markMasqBit: 14 }, forward: 'none', portMappings: [{ hostPort: 6000, containerPort: 60, protocol: 'udp' }] },
  { ...base, containerId: 'no-snat', ips: ['10.88.0.8/24'], nat: { snat: false, conditionsV4: ['-d', '10.77.0.0/30', '!', '-i', 'br-t'] }, portMappings: [{ hostPort: 6001, containerPort: 61 }] },
];

test('every layout rule shape: nf_tables gets the bytes iptables-restore makes, iptables-save prints them the same, iptables -C finds and -D removes them', async (t) => {
  const plans: FamilyPlan[][] = [
    ...specs.map((s) => planAttachment(s).families),
    planCniFirewall({ network: 'n1', containerId: 'fw', ifname: 'eth0', ips: ['10.88.0.9/24', 'fd88::9/64'], ingressPolicy: 'isolated', bridge: 'br-t' }).families,
  ];
  const [viaIptables, viaNft] = await Promise.all([Sandbox.create(t), Sandbox.create(t)]);
  await inSandbox(viaIptables, { mode: 'iptables', plans });
  const added = await inSandbox<boolean[]>(viaNft, { mode: 'nft', plans });
  t.deepEqual(added, plans.map(() => true), 'every attachment\'s plans (both families at once) went through nf_tables');

  for (const family of [4, 6] as const) {
    const [want, got] = await Promise.all([saveText(viaIptables, family), saveText(viaNft, family)]);
    t.true(want.some((l) => l.includes('ctnet:')), want.join('\n'));
    t.deepEqual(got, want, `IPv${family} iptables-save`);
    const chains = chainsOf(family, want);
    const [wantBytes, gotBytes] = await Promise.all([inSandbox(viaIptables, { mode: 'dump', chains }), inSandbox(viaNft, { mode: 'dump', chains })]);
    t.deepEqual(gotBytes, wantBytes, `IPv${family} expressions`);
  }

  await inSandbox(viaNft, { mode: 'check', plans });
  await inSandbox(viaNft, { mode: 'remove-iptables', plans });
  for (const family of [4, 6] as const) t.deepEqual((await saveText(viaNft, family)).filter(isOwned), [], `IPv${family}: only shared items are left`);
});

test('an ADD through nf_tables answers each rule\'s handle: a dump of its chain and a lookup by handle find the rule\'s tag under it; a lookup of what is not there finds nothing', async (t) => {
  const sb = await Sandbox.create(t);
  const r = await inSandbox<{ rules: Array<{ where: string; handle?: string; comment?: string; dumped?: string; lookedUp?: string }>; missing: Array<string | null> }>(sb, { mode: 'handles', plans: [planAttachment(specs[0]!).families] });
  t.true(r.rules.length > 10, JSON.stringify(r.rules));
  t.is(new Set(r.rules.map((x) => `${x.where} ${x.handle ?? ''}`)).size, r.rules.length, 'distinct handles in each table');
  for (const x of r.rules) {
    t.regex(x.handle ?? '', /^[1-9]\d*$/);
    t.truthy(x.comment);
    t.is(x.dumped, x.comment, `handle ${x.handle ?? '?'}: dumped`);
    t.is(x.lookedUp, x.comment, `handle ${x.handle ?? '?'}: looked up`);
  }
  t.deepEqual(r.missing, [null, null, r.rules.at(-1)!.comment!], 'a handle not used, a chain that does not exist, then the last rule again');
});

test('a lookup that wants the first rule holding some bytes stops the dump there; the socket then serves whole dumps again', async (t) => {
  const sb = await Sandbox.create(t);
  const r = await inSandbox<{ first: number; firstComment?: string; all: number; last: string[] }>(sb, { mode: 'first' });
  t.is(r.firstComment, 'needle 0');
  t.true(r.first >= 1 && r.first < 1000, `the first batch held ${r.first} of the 2,001 rules`);
  t.is(r.all, 2001, 'a whole dump after it, on a fresh socket');
  t.deepEqual(r.last, ['last needle'], 'a needle in the last rule only is still found');
});

test('a rule nft-encoding does not know (an ipset condition) sends the whole ADD through iptables-restore', async (t) => {
  const plan = planAttachment({ ...base, containerId: 'set', ips: ['10.88.0.5/24'], nat: { conditionsV4: ['-m', 'set', '--match-set', 'allowed', 'src'] }, portMappings: [{ hostPort: 8080, containerPort: 80 }] });
  const sb = await Sandbox.create(t);
  t.deepEqual(await inSandbox<boolean[]>(sb, { mode: 'nft', plans: [plan.families] }), [false]);
  t.deepEqual((await saveText(sb, 4)).filter(isOwned), [], 'nothing of it was added');
});

test('a transaction bound to a generation the ruleset has moved past changes nothing (what keeps lookups and commit together)', async (t) => {
  const sb = await Sandbox.create(t);
  await sb.exec('iptables-nft', ['-N', 'CTNET-TEST']);
  t.deepEqual(await inSandbox(sb, { mode: 'stale-generation' }), { refused: 'ERESTART', moved: true, stale: false });
});

for (const variant of ['nft', 'legacy'] as const) {
  test(`portmap ADD with iptables-${variant}: ${variant === 'nft' ? 'the first ADD makes the shared chains through iptables, the next runs no iptables program' : 'every ADD runs iptables-restore'}; both ports answer`, async (t) => {
    const topo = await topology(t);
    const ipt = iptablesWrappers(t, variant);
    const [c1, c2] = [await addContainer(topo, 1), await addContainer(topo, 2)];
    await serve(topo, c1.ns.path, 80, 'one');
    await serve(topo, c2.ns.path, 80, 'two');
    const ran: string[][] = [];
    for (const [c, port] of [[c1, 8080], [c2, 8081]] as const) {
      const add = await runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c, [{ hostPort: port, containerPort: 80 }]), containerId: c.id, netns: c.ns.path, env: ipt.env });
      t.is(add.exitCode, 0, add.stdout);
      ran.push(ipt.take());
    }
    t.true(ran[0]!.includes('iptables-restore'), ran[0]!.join(', '));
    if (variant === 'nft') t.deepEqual(ran[1], []);
    else t.true(ran[1]!.includes('iptables-restore'), ran[1]!.join(', '));
    t.is(await reach(topo, topo.client.path, HOST4, 8080), 'one');
    t.is(await reach(topo, topo.client.path, HOST4, 8081), 'two');
    const check = await runPlugin(topo, 'portmap', { command: 'CHECK', config: portmapConfig(c2, [{ hostPort: 8081, containerPort: 80 }]), containerId: c2.id, netns: c2.ns.path, env: ipt.env });
    t.is(check.exitCode, 0, check.stdout);
  });
}
