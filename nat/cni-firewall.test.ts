import test from 'ava';
import { planCniFirewall } from './cni-firewall.js';
import { ruleTag } from './names.js';
import { ruleText } from './rule.js';

const spec = { network: 'n1', containerId: 'c1', ifname: 'eth0', ips: ['10.88.0.5/24', 'fd88::5/64'] };

test('per-container accepts in CNI-FORWARD, tagged; the reference shared chains and jumps', (t) => {
  const plan = planCniFirewall(spec);
  t.is(plan.ref.owner, 'firewall');
  const tag = ruleTag(plan.ref);
  const v4 = plan.families.find((f) => f.family === 4)!;
  t.deepEqual(
    v4.owned.rules.map((r) => ruleText(r).replace(`"${tag}"`, 'TAG')),
    ['CNI-FORWARD -d 10.88.0.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment TAG -j ACCEPT', 'CNI-FORWARD -s 10.88.0.5/32 -m comment --comment TAG -j ACCEPT'],
  );
  t.deepEqual(
    v4.shared.map((s) => (s.kind === 'chain' ? s.chain : `${s.position} ${ruleText(s)}`)),
    [
      'CNI-FORWARD',
      'CNI-ADMIN',
      'first FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
      'first CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
    ],
  );
  t.deepEqual(plan.families.find((f) => f.family === 6)!.owned.rules.map((r) => r.args[1]), ['fd88::5/128', 'fd88::5/128']);
  t.deepEqual(plan.claims, []);
});

test('same-bridge: the two isolation stages, jumped to ahead of CNI-FORWARD; a custom admin chain', (t) => {
  const plan = planCniFirewall({ ...spec, ips: ['10.88.0.5/24'], ingressPolicy: 'same-bridge', bridge: 'br0', adminChain: 'MY-ADMIN' });
  const shared = plan.families[0]!.shared.map((s) => (s.kind === 'chain' ? s.chain : `${s.position} ${ruleText(s)}`));
  const c = '-m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)"';
  t.deepEqual(shared, [
    'CNI-FORWARD',
    'MY-ADMIN',
    'first FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
    'first CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j MY-ADMIN',
    'CNI-ISOLATION-STAGE-1',
    'CNI-ISOLATION-STAGE-2',
    `first FORWARD ${c} -j CNI-ISOLATION-STAGE-1`,
    `first CNI-ISOLATION-STAGE-1 -i br0 ! -o br0 ${c} -j CNI-ISOLATION-STAGE-2`,
    `last CNI-ISOLATION-STAGE-1 ${c} -j RETURN`,
    `first CNI-ISOLATION-STAGE-2 -o br0 ${c} -j DROP`,
    `last CNI-ISOLATION-STAGE-2 ${c} -j RETURN`,
  ]);
});
