import test from 'ava';
import { CniError, ErrorCode } from '../cni/errors.js';
import { planAttachment, sharedLayout, type AttachmentPlan } from './layout.js';
import { attachmentKey, ruleTag } from './names.js';
import { ruleText, type FamilyPlan } from './rule.js';
import type { ContainerSpec } from './types.js';

const base: ContainerSpec = { network: 'n1', containerId: 'c1', ifname: 'eth0', bridge: 'br0', ips: ['10.88.0.5/24'] };
const KEY = attachmentKey(base);
const DN = `CTNET-DN-${KEY}`;

/** The owned rules of a family as "table chain args", with the attachment's tag shortened to TAG. */
function owned(plan: AttachmentPlan, family: 4 | 6 = 4): string[] {
  const f = plan.families.find((x) => x.family === family);
  const tag = ruleTag(plan.ref);
  return (f?.owned.rules ?? []).map((r) => `${r.table} ${ruleText(r)}`.replace(`"${tag}"`, 'TAG').replaceAll(DN, 'DN'));
}

const shared = (f: FamilyPlan | undefined) => (f?.shared ?? []).map((s) => (s.kind === 'chain' ? `chain ${s.table} ${s.chain}` : `${s.position} ${s.table} ${ruleText(s)}`));

test('one TCP port: entry rule, hairpin and localhost marks, DNAT, and the accepts of the published traffic', (t) => {
  const plan = planAttachment({ ...base, portMappings: [{ hostPort: 8080, containerPort: 80 }] });
  t.deepEqual(owned(plan), [
    'nat CTNET-DNAT -p tcp -m multiport --dports 8080 -m comment --comment TAG -j DN',
    'nat DN -p tcp --dport 8080 -s 10.88.0.0/24 -m comment --comment TAG -j MARK --set-xmark 0x2000/0x2000',
    'nat DN -p tcp --dport 8080 -s 127.0.0.0/8 -m comment --comment TAG -j MARK --set-xmark 0x2000/0x2000',
    'nat DN -p tcp --dport 8080 -m comment --comment TAG -j DNAT --to-destination 10.88.0.5:80',
    'filter CTNET-FORWARD -d 10.88.0.5/32 -o br0 -p tcp --dport 80 -m conntrack --ctstate DNAT --ctdir ORIGINAL -m comment --comment TAG -j ACCEPT',
    'filter CTNET-FORWARD -s 10.88.0.5/32 -i br0 -p tcp --sport 80 -m conntrack --ctstate DNAT --ctdir REPLY -m comment --comment TAG -j ACCEPT',
  ]);
  t.deepEqual(plan.families[0]!.owned.chains, [{ table: 'nat', chain: DN }]);
  t.true(DN.length <= 28);
  t.deepEqual(shared(plan.families[0]), [
    'chain nat CTNET-DNAT',
    'last nat PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "ctnet: published ports" -j CTNET-DNAT',
    'last nat OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "ctnet: published ports" -j CTNET-DNAT',
    'chain nat CTNET-POSTROUTING',
    'first nat POSTROUTING -m comment --comment "ctnet: masquerade" -j CTNET-POSTROUTING',
    'first nat CTNET-POSTROUTING -m mark --mark 0x2000/0x2000 -m comment --comment "ctnet: hairpin and localhost connections to published ports" -j MASQUERADE',
    'chain filter CTNET-FORWARD',
    'first filter FORWARD -m comment --comment "ctnet: container forwarding" -j CTNET-FORWARD',
    'chain filter CTNET-INPUT',
    'first filter INPUT -m comment --comment "ctnet: localhost guard" -j CTNET-INPUT',
    'last filter CTNET-INPUT ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment "ctnet: no martian packets to 127/8 (route_localnet)" -j DROP',
  ]);
  t.true(plan.localnet);
  t.deepEqual(plan.claims, [{ protocol: 'tcp', family: 4, bindIP: '0.0.0.0', hostPort: 8080, hostPortEnd: 8080 }]);
  t.deepEqual(plan.udp, []);
});

test('every protocol gets its own entry rule; UDP ports are flushed from conntrack', (t) => {
  const plan = planAttachment({
    ...base,
    forward: 'none',
    portMappings: [
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
      { hostPort: 80, containerPort: 80 },
      { hostPort: 3868, containerPort: 3868, protocol: 'sctp' },
    ],
  });
  const entries = owned(plan).filter((r) => r.startsWith('nat CTNET-DNAT'));
  t.deepEqual(entries, [
    'nat CTNET-DNAT -p sctp -m multiport --dports 3868 -m comment --comment TAG -j DN',
    'nat CTNET-DNAT -p tcp -m multiport --dports 80 -m comment --comment TAG -j DN',
    'nat CTNET-DNAT -p udp -m multiport --dports 5353 -m comment --comment TAG -j DN',
  ]);
  t.true(owned(plan).includes('nat DN -p sctp --dport 3868 -m comment --comment TAG -j DNAT --to-destination 10.88.0.5:3868'));
  t.false(owned(plan).some((r) => r.startsWith('filter')), 'forward "none": no accept rules');
  t.deepEqual(plan.udp, [{ family: 4, hostPort: 5353, hostPortEnd: 5353 }]);
});

test('hostIP: a specific address restricts the DNAT (-d) and is not localhost; 127.0.0.1 is', (t) => {
  const plan = planAttachment({ ...base, forward: 'none', portMappings: [{ hostPort: 8080, containerPort: 80, hostIP: '192.0.2.10' }] });
  t.deepEqual(owned(plan).slice(1), [
    'nat DN -p tcp -d 192.0.2.10 --dport 8080 -s 10.88.0.0/24 -m comment --comment TAG -j MARK --set-xmark 0x2000/0x2000',
    'nat DN -p tcp -d 192.0.2.10 --dport 8080 -m comment --comment TAG -j DNAT --to-destination 10.88.0.5:80',
  ]);
  t.false(plan.localnet);
  t.deepEqual(plan.claims[0]?.bindIP, '192.0.2.10');
  const local = planAttachment({ ...base, forward: 'none', portMappings: [{ hostPort: 8080, containerPort: 80, hostIP: '127.0.0.1' }] });
  t.true(local.localnet);
  t.true(owned(local).includes('nat DN -p tcp -d 127.0.0.1 --dport 8080 -s 127.0.0.0/8 -m comment --comment TAG -j MARK --set-xmark 0x2000/0x2000'));
});

test('IPv6: bracketed destination, the v6 subnet for hairpin, no localhost rule, v6 multicast excluded from masquerade', (t) => {
  const plan = planAttachment({ ...base, ips: ['fd88::5/64'], masquerade: true, forward: 'none', portMappings: [{ hostPort: 8080, containerPort: 80 }] });
  t.is(plan.families.length, 1);
  t.is(plan.families[0]!.family, 6);
  t.deepEqual(owned(plan, 6), [
    'nat CTNET-DNAT -p tcp -m multiport --dports 8080 -m comment --comment TAG -j DN',
    'nat DN -p tcp --dport 8080 -s fd88::/64 -m comment --comment TAG -j MARK --set-xmark 0x2000/0x2000',
    'nat DN -p tcp --dport 8080 -m comment --comment TAG -j DNAT --to-destination [fd88::5]:80',
    'nat CTNET-POSTROUTING -s fd88::5/128 ! -o br0 ! -d ff00::/8 -m comment --comment TAG -j MASQUERADE',
  ]);
  t.false(plan.localnet);
  t.false(shared(plan.families[0]).some((s) => s.includes('CTNET-INPUT')));
});

test('a hostIP of one family never applies to a container address of the other', (t) => {
  const plan = planAttachment({
    ...base,
    ips: ['10.88.0.5/24', 'fd88::5/64'],
    forward: 'none',
    portMappings: [
      { hostPort: 1, containerPort: 1, hostIP: '0.0.0.0' },
      { hostPort: 2, containerPort: 2, hostIP: '::' },
      { hostPort: 3, containerPort: 3, hostIP: '2001:db8::1' },
      { hostPort: 4, containerPort: 4 },
    ],
  });
  const dnats = (family: 4 | 6) => owned(plan, family).filter((r) => r.includes('-j DNAT')).map((r) => r.replace(/ -m comment.*--to-destination/, ' ->'));
  t.deepEqual(dnats(4), ['nat DN -p tcp --dport 1 -> 10.88.0.5:1', 'nat DN -p tcp --dport 4 -> 10.88.0.5:4']);
  t.deepEqual(dnats(6), ['nat DN -p tcp --dport 2 -> [fd88::5]:2', 'nat DN -p tcp -d 2001:db8::1 --dport 3 -> [fd88::5]:3', 'nat DN -p tcp --dport 4 -> [fd88::5]:4']);
  // A v6-only mapping on a v4-only container: nothing to publish, nothing claimed.
  const none = planAttachment({ ...base, portMappings: [{ hostPort: 2, containerPort: 2, hostIP: '::' }] });
  t.deepEqual(none.families, []);
  t.deepEqual(none.claims, []);
});

test('ranges: one rule per range, ports kept when equal, shifted with a base port otherwise', (t) => {
  const plan = planAttachment({
    ...base,
    forward: 'none',
    portMappings: [
      { hostPort: 9000, hostPortEnd: 9010, containerPort: 9000 },
      { hostPort: 8080, hostPortEnd: 8082, containerPort: 80, protocol: 'udp' },
    ],
  });
  t.true(owned(plan).includes('nat DN -p tcp --dport 9000:9010 -m comment --comment TAG -j DNAT --to-destination 10.88.0.5'));
  t.true(owned(plan).includes('nat DN -p udp --dport 8080:8082 -m comment --comment TAG -j DNAT --to-destination 10.88.0.5:80-82/8080'));
  t.deepEqual(plan.claims.map((c) => [c.hostPort, c.hostPortEnd]), [[9000, 9010], [8080, 8082]]);
  const fwd = planAttachment({ ...base, portMappings: [{ hostPort: 8080, hostPortEnd: 8082, containerPort: 80 }] });
  t.true(owned(fwd).some((r) => r.includes('-p tcp --dport 80:82 -m conntrack --ctstate DNAT --ctdir ORIGINAL')));
});

test('multiport entry rules hold at most 15 slots, a range counting as two', (t) => {
  const ports = Array.from({ length: 20 }, (_, i) => ({ hostPort: 10000 + i, containerPort: 80 }));
  const plan = planAttachment({ ...base, forward: 'none', portMappings: [...ports, { hostPort: 20000, hostPortEnd: 20005, containerPort: 20000 }] });
  const entries = owned(plan)
    .filter((r) => r.startsWith('nat CTNET-DNAT'))
    .map((r) => /--dports (\S+)/.exec(r)![1]!.split(','));
  t.deepEqual(entries.map((e) => e.reduce((n, p) => n + (p.includes(':') ? 2 : 1), 0)), [15, 7]);
  t.deepEqual(entries.flat().length, 21);
});

test('conditions go on the entry rules of their family; snat off, masqAll and an external mark chain', (t) => {
  const withConditions = planAttachment({
    ...base,
    ips: ['10.88.0.5/24', 'fd88::5/64'],
    forward: 'none',
    portMappings: [{ hostPort: 8080, containerPort: 80 }],
    nat: { conditionsV4: ['-s', '192.0.2.0/24'], conditionsV6: ['!', '-s', '2001:db8::/32'] },
  });
  t.is(owned(withConditions, 4)[0], 'nat CTNET-DNAT -p tcp -m multiport --dports 8080 -s 192.0.2.0/24 -m comment --comment TAG -j DN');
  t.is(owned(withConditions, 6)[0], 'nat CTNET-DNAT -p tcp -m multiport --dports 8080 ! -s 2001:db8::/32 -m comment --comment TAG -j DN');
  t.throws(() => planAttachment({ ...base, portMappings: [{ hostPort: 1, containerPort: 1 }], nat: { conditionsV4: ['-j', 'ACCEPT'] } }), { message: /conditionsV4\[0\]/ });

  const noSnat = planAttachment({ ...base, forward: 'none', portMappings: [{ hostPort: 8080, containerPort: 80 }], nat: { snat: false } });
  t.false(owned(noSnat).some((r) => r.includes('MARK')));
  t.false(shared(noSnat.families[0]).some((s) => s.includes('--mark')));

  const all = planAttachment({ ...base, forward: 'none', portMappings: [{ hostPort: 8080, containerPort: 80 }], nat: { masqAll: true, markMasqBit: 5 } });
  t.deepEqual(owned(all).filter((r) => r.includes('MARK')), ['nat DN -p tcp --dport 8080 -m comment --comment TAG -j MARK --set-xmark 0x20/0x20']);

  const ext = planAttachment({ ...base, forward: 'none', portMappings: [{ hostPort: 8080, containerPort: 80 }], nat: { externalSetMarkChain: 'KUBE-MARK-MASQ' } });
  t.true(owned(ext).includes('nat DN -p tcp --dport 8080 -s 10.88.0.0/24 -m comment --comment TAG -j KUBE-MARK-MASQ'));
  t.false(shared(ext.families[0]).some((s) => s.includes('--mark')), 'the external chain masquerades, not ours');
  t.throws(() => planAttachment({ ...base, nat: { externalSetMarkChain: 'X', markMasqBit: 3 } }), { message: /cannot both be set/ });
  t.throws(() => planAttachment({ ...base, nat: { markMasqBit: 32 } }), { message: /markMasqBit/ });
});

test('bridge side: masquerade, egress and return accepts, and isolation drops entered before any accept', (t) => {
  const plan = planAttachment({ ...base, ips: ['10.88.0.5/24', '10.88.0.6/24'], masquerade: true, forward: 'all', icc: false });
  t.deepEqual(owned(plan), [
    'nat CTNET-POSTROUTING -s 10.88.0.5/32 ! -o br0 ! -d 224.0.0.0/4 -m comment --comment TAG -j MASQUERADE',
    'nat CTNET-POSTROUTING -s 10.88.0.6/32 ! -o br0 ! -d 224.0.0.0/4 -m comment --comment TAG -j MASQUERADE',
    'filter CTNET-FORWARD -d 10.88.0.5/32 -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment TAG -j ACCEPT',
    'filter CTNET-FORWARD -s 10.88.0.5/32 -i br0 -m comment --comment TAG -j ACCEPT',
    'filter CTNET-FORWARD -d 10.88.0.6/32 -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment TAG -j ACCEPT',
    'filter CTNET-FORWARD -s 10.88.0.6/32 -i br0 -m comment --comment TAG -j ACCEPT',
    'filter CTNET-ISOLATION -s 10.88.0.5/32 -i br0 -o br0 -m conntrack ! --ctstate DNAT -m comment --comment TAG -j DROP',
    'filter CTNET-ISOLATION -d 10.88.0.5/32 -i br0 -o br0 -m conntrack ! --ctstate DNAT -m comment --comment TAG -j DROP',
    'filter CTNET-ISOLATION -s 10.88.0.6/32 -i br0 -o br0 -m conntrack ! --ctstate DNAT -m comment --comment TAG -j DROP',
    'filter CTNET-ISOLATION -d 10.88.0.6/32 -i br0 -o br0 -m conntrack ! --ctstate DNAT -m comment --comment TAG -j DROP',
  ]);
  t.true(shared(plan.families[0]).includes('first filter CTNET-FORWARD -m comment --comment "ctnet: isolation before accepts" -j CTNET-ISOLATION'));
  t.deepEqual(plan.families[0]!.owned.chains, [], 'no DNAT chain without ports');

  const internal = planAttachment({ ...base, forward: 'all', internal: true });
  t.deepEqual(owned(internal), [
    'filter CTNET-FORWARD -d 10.88.0.5/32 -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment TAG -j ACCEPT',
    'filter CTNET-FORWARD -s 10.88.0.5/32 -i br0 -o br0 -m comment --comment TAG -j ACCEPT',
    'filter CTNET-ISOLATION -s 10.88.0.5/32 -i br0 ! -o br0 -m comment --comment TAG -j DROP',
    'filter CTNET-ISOLATION -d 10.88.0.5/32 ! -i br0 -o br0 -m comment --comment TAG -j DROP',
  ]);
});

test('isolateNetworks: stage 1 sends traffic leaving the bridge to stage 2, which drops traffic into the container', (t) => {
  const plan = planAttachment({ ...base, isolateNetworks: true });
  t.deepEqual(owned(plan), [
    'filter CTNET-ISOLATION -s 10.88.0.5/32 -i br0 ! -o br0 -m conntrack ! --ctstate DNAT -m comment --comment TAG -j CTNET-ISOLATION-2',
    'filter CTNET-ISOLATION-2 -d 10.88.0.5/32 -o br0 -m comment --comment TAG -j DROP',
  ]);
  t.true(shared(plan.families[0]).includes('chain filter CTNET-ISOLATION-2'));
  t.is((t.throws(() => planAttachment({ ...base, bridge: undefined, isolateNetworks: true })) as CniError).code, ErrorCode.InvalidNetworkConfig);
});

test('invalid specs: code 7 (or 4 for a bad bridge name) before anything is planned', (t) => {
  const code = (spec: ContainerSpec) => (t.throws(() => planAttachment(spec), { instanceOf: CniError }) as CniError).code;
  t.is(code({ ...base, ips: ['10.88.0.5'] }), ErrorCode.InvalidNetworkConfig);
  t.is(code({ ...base, bridge: undefined, masquerade: true }), ErrorCode.InvalidNetworkConfig);
  t.is(code({ ...base, bridge: undefined, icc: false }), ErrorCode.InvalidNetworkConfig);
  t.is(code({ ...base, forward: 'some' as never }), ErrorCode.InvalidNetworkConfig);
  t.is(code({ ...base, bridge: 'a/b' }), ErrorCode.InvalidEnvironment);
  t.is(code({ ...base, portMappings: [{ hostPort: 0, containerPort: 1 }] }), ErrorCode.InvalidNetworkConfig);
  // Published ports alone work without a bridge (accepts then match any interface).
  const p = planAttachment({ ...base, bridge: undefined, portMappings: [{ hostPort: 1, containerPort: 1 }] });
  t.true(owned(p).includes('filter CTNET-FORWARD -d 10.88.0.5/32 -p tcp --dport 1 -m conntrack --ctstate DNAT --ctdir ORIGINAL -m comment --comment TAG -j ACCEPT'));
});

test('owners keep separate keys, chains and tags for one attachment', (t) => {
  const a = planAttachment({ ...base, owner: 'bridge', portMappings: [{ hostPort: 1, containerPort: 1 }] });
  const b = planAttachment({ ...base, owner: 'portmap', portMappings: [{ hostPort: 2, containerPort: 2 }] });
  t.not(a.key, b.key);
  t.not(a.families[0]!.owned.chains[0]!.chain, b.families[0]!.owned.chains[0]!.chain);
  t.regex(ruleTag(a.ref), /^ctnet:[0-9a-f]{16} bridge net=n1 id=c1 if=eth0$/);
});

test('sharedLayout: everything, the localhost guard only for IPv4', (t) => {
  t.true(sharedLayout(4).some((i) => i.chain === 'CTNET-INPUT'));
  t.false(sharedLayout(6).some((i) => i.chain === 'CTNET-INPUT'));
  t.true(sharedLayout(4, { markMasqBit: 1 }).some((i) => i.kind === 'rule' && i.args.includes('0x2/0x2')));
});
