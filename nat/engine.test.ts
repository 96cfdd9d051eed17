// The engine's paths against a scripted iptables: which processes run, in which order, with which
// input, for success, repair, compensation and fallback. No kernel involved.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { RuleEngine } from './engine.js';
import { RestoreError, type Iptables } from './iptables.js';
import { applyBatch } from './rule.js';
import { planAttachment } from './layout.js';
import type { Family } from './types.js';

type Call = { op: 'restore'; family: Family; input: string } | { op: 'save'; family: Family } | { op: 'check'; family: Family; chain: string };

/** An iptables whose restores answer from a script: each entry fails (with a line) or passes. */
function scripted(t: { teardown(fn: () => void): void }, restores: Array<undefined | { line?: number; stderr: string }>, saveText = '') {
  const calls: Call[] = [];
  const ipt: Iptables = {
    async restore(family, input) {
      calls.push({ op: 'restore', family, input });
      const next = restores.shift();
      if (next) throw new RestoreError(family, next.line, next.stderr);
    },
    async save(family) {
      calls.push({ op: 'save', family });
      return saveText;
    },
    async check(family, rule) {
      calls.push({ op: 'check', family, chain: rule.chain });
      return false;
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-engine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { calls, engine: new RuleEngine(ipt, { lockPath: join(dir, 'lock'), lockTimeoutMs: 1000 }) };
}

const plan = planAttachment({ network: 'n1', containerId: 'c1', ifname: 'eth0', bridge: 'br0', ips: ['10.88.0.5/24', 'fd88::5/64'], portMappings: [{ hostPort: 8080, containerPort: 80 }] });
const v4 = plan.families.find((f) => f.family === 4)!;
const v6 = plan.families.find((f) => f.family === 6)!;

test('ADD: one restore per family, no save', async (t) => {
  const { calls, engine } = scripted(t, []);
  await engine.apply(plan.families);
  t.deepEqual(
    calls.map((c) => [c.op, c.family]),
    [['restore', 4], ['restore', 6]],
  );
  t.is((calls[0] as { input: string }).input, applyBatch(v4).text);
});

test('ADD with shared items missing: repaired under the lock from save + -C, then applied again', async (t) => {
  const batch = applyBatch(v4);
  const checkLine = batch.lines.findIndex((l) => l.kind === 'check-shared') + 1;
  const { calls, engine } = scripted(t, [{ line: checkLine, stderr: `iptables-restore: line ${checkLine} failed: Bad rule` }], '*nat\n:PREROUTING ACCEPT [0:0]\n:CTNET-DNAT - [0:0]\nCOMMIT\n');
  await engine.apply([v4]);
  t.deepEqual(
    calls.map((c) => c.op),
    ['restore', 'save', 'check', 'restore', 'restore'],
    'the failed batch committed nothing (the check is in its first table), so nothing is undone; only rules between existing chains are probed',
  );
  t.like(calls[2], { op: 'check', chain: 'PREROUTING' });
  const repair = (calls[3] as { input: string }).input;
  // Shared chains not in the save are created; built-ins never are.
  t.regex(repair, /\*filter\n-N CTNET-FORWARD\n-N CTNET-INPUT\n-I FORWARD 1 /);
  t.regex(repair, /\*nat\n-N CTNET-POSTROUTING\n-A PREROUTING /);
  t.false(/-N (PREROUTING|FORWARD|INPUT|OUTPUT|POSTROUTING)/.test(repair));
  t.is((calls[4] as { input: string }).input, batch.text);
});

test('ADD failing in its second table: the first, committed table is removed again, the error names the rule', async (t) => {
  const batch = applyBatch(v4);
  const natLine = batch.lines.findIndex((l) => l.table === 'nat' && l.what.startsWith('rule')) + 1;
  const { calls, engine } = scripted(t, [{ line: natLine, stderr: `iptables-restore: line ${natLine} failed: Invalid argument` }]);
  const err = await t.throwsAsync(engine.apply([v4]), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.Internal);
  t.regex(err?.message ?? '', /^cannot add IPv4 firewall rules \(rule nat CTNET-DNAT -p tcp -m multiport --dports 8080 .*\): iptables-restore: line \d+ failed: Invalid argument$/);
  t.is(calls.length, 2);
  const undo = (calls[1] as { input: string }).input;
  t.true(undo.startsWith('*filter\n-D CTNET-FORWARD'));
  t.false(undo.includes('*nat'), 'the nat part never committed');
});

test('ADD of two families: when IPv6 fails, IPv4 is removed again', async (t) => {
  const { calls, engine } = scripted(t, [undefined, { line: 3, stderr: 'line 3 failed: Bad argument' }]);
  await t.throwsAsync(engine.apply([v4, v6]), { message: /cannot add IPv6 firewall rules/ });
  const removals = calls.filter((c) => c.op === 'restore' && c.family === 4 && c.input.includes('-D '));
  t.is(removals.length, 1);
});

test('DEL: exact deletes; when something is already gone, the rest is found by tag in the save', async (t) => {
  const saved = [
    '*nat',
    ':CTNET-DNAT - [0:0]',
    `:CTNET-DN-${plan.key} - [0:0]`,
    `-A CTNET-DNAT -p tcp -m multiport --dports 8080 -m comment --comment "ctnet:${plan.key} ctnet net=n1 id=c1 if=eth0" -j CTNET-DN-${plan.key}`,
    'COMMIT',
    '*filter',
    ':CTNET-FORWARD - [0:0]',
    '-A CTNET-FORWARD -m comment --comment "ctnet:1111111111111111 ctnet net=n1 id=other if=eth0" -j ACCEPT',
    'COMMIT',
    '',
  ].join('\n');
  const { calls, engine } = scripted(t, [{ line: 2, stderr: 'line 2 failed: Bad rule (does a matching rule exist in that chain?)' }], saved);
  await engine.remove(4, [v4.owned]);
  t.deepEqual(
    calls.map((c) => c.op),
    ['restore', 'save', 'restore'],
  );
  t.is((calls[2] as { input: string }).input, `*nat\n-D CTNET-DNAT -p tcp -m multiport --dports 8080 -m comment --comment "ctnet:${plan.key} ctnet net=n1 id=c1 if=eth0" -j CTNET-DN-${plan.key}\n-F CTNET-DN-${plan.key}\n-X CTNET-DN-${plan.key}\nCOMMIT\n`);
});

test('DEL with nothing left at all: the fallback finds nothing and runs nothing more', async (t) => {
  const { calls, engine } = scripted(t, [{ line: 2, stderr: 'line 2 failed' }], '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
  await engine.remove(4, [v4.owned]);
  t.deepEqual(
    calls.map((c) => c.op),
    ['restore', 'save'],
  );
});

test('CHECK: code 105 naming the first missing rule', async (t) => {
  const { engine } = scripted(t, [{ line: 2, stderr: 'line 2 failed: Bad rule' }]);
  const err = await t.throwsAsync(engine.check([v4]), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.CheckFailed);
  t.is(err?.message, 'IPv4 firewall rule filter FORWARD -m comment --comment "ctnet: container forwarding" -j CTNET-FORWARD is missing');
});
