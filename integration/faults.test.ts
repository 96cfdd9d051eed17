// A plugin killed (SIGKILL) at each named step of ADD: whatever it had done, a following DEL (as a
// runtime sends after a failed ADD) or, separately, a GC with an empty valid list leaves no
// address or port reservation, no veth and no iptables rule behind, and the ADD then succeeds when
// retried (so its port is free again).
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from './sandbox.js';

// ADD's steps, in order; nat-* fall inside the firewall step (record written, host ports reserved,
// one family's iptables batch committed while the other may still be running).
const STEPS = ['after-ipam', 'after-veth', 'after-container', 'nat-recorded', 'nat-ports-reserved', 'nat-ipv4-applied', 'nat-ipv6-applied', 'after-firewall'];
const DEL_STEPS = ['del-after-ipam', 'del-after-firewall'];

async function setup(t: any) {
  const sb = await Sandbox.create(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'ctnet-faults-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const c = await sb.container();
  const conf = (more: object = {}) => ({
    cniVersion: '1.1.0',
    name: 'faultnet',
    type: 'bridge',
    bridge: 'ctfault0',
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: true,
    runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] },
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.96.0.0/24' }], [{ subnet: 'fd96::/64' }]] },
    ...more,
  });
  const run = (command: string, more: object = {}, env: Record<string, string> = {}) =>
    sb.plugin('bridge', { command, config: conf(more), containerId: 'victim', netns: c.path, env });
  const residue = async () => ({
    reservations: readdirSync(join(dataDir, 'faultnet')).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')),
    veths: JSON.parse((await sb.exec('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout).map((l: any) => l.ifname),
    inside: JSON.parse((await sb.exec('ip', ['-j', 'link'], c.path)).stdout).map((l: any) => l.ifname),
    rules: [
      ...(await sb.exec('iptables-save', [])).stdout.split('\n').filter((l) => l.includes('10.96.0.')),
      ...(await sb.exec('ip6tables-save', [])).stdout.split('\n').filter((l) => l.includes('fd96::')),
    ],
    ports: existsSync(join(sb.stateDir, 'ports')) ? readdirSync(join(sb.stateDir, 'ports')).filter((f) => f !== 'lock') : [],
  });
  return { sb, c, run, residue };
}

const clean = { reservations: [], veths: [], inside: ['lo'], rules: [], ports: [] };

for (const step of STEPS) {
  test(`killed ${step}: DEL leaves nothing, then ADD succeeds`, async (t) => {
    const { run, residue } = await setup(t);
    const killed = await run('ADD', {}, { CTNET_TEST_KILL_AT: step });
    t.not(killed.exitCode, 0);
    t.is(killed.stdout, '');
    if (step.endsWith('-applied') || step === 'after-firewall') t.not((await residue()).rules.length, 0, 'the killed ADD had installed rules');
    t.is((await run('DEL')).exitCode, 0);
    t.deepEqual(await residue(), clean);
    const retry = await run('ADD');
    t.is(retry.exitCode, 0, retry.stdout);
  });

  test(`killed ${step}: GC with an empty valid list leaves nothing, then ADD succeeds`, async (t) => {
    const { run, residue } = await setup(t);
    t.not((await run('ADD', {}, { CTNET_TEST_KILL_AT: step })).exitCode, 0);
    const gc = await run('GC', { 'cni.dev/valid-attachments': [] });
    t.is(gc.exitCode, 0, gc.stdout);
    t.deepEqual(await residue(), clean);
    t.is((await run('ADD')).exitCode, 0);
  });
}

for (const step of DEL_STEPS) {
  test(`DEL killed ${step}: a retried DEL leaves nothing, then ADD succeeds`, async (t) => {
    const { run, residue } = await setup(t);
    t.is((await run('ADD')).exitCode, 0);
    t.not((await run('DEL', {}, { CTNET_TEST_KILL_AT: step })).exitCode, 0);
    t.is((await run('DEL')).exitCode, 0);
    t.deepEqual(await residue(), clean);
    t.is((await run('ADD')).exitCode, 0);
  });
}

test('GC keeps valid attachments and removes the others', async (t) => {
  const { sb, run, residue } = await setup(t);
  t.is((await run('ADD')).exitCode, 0);
  const other = await sb.container();
  // An L2-only attachment on the same network, which the runtime no longer lists.
  const orphan = await sb.plugin('bridge', {
    command: 'ADD',
    config: { cniVersion: '1.1.0', name: 'faultnet', type: 'bridge', bridge: 'ctfault0' },
    containerId: 'orphan',
    netns: other.path,
  });
  t.is(orphan.exitCode, 0, orphan.stdout);
  const gc = await run('GC', { runtimeConfig: { 'cni.dev/valid-attachments': [{ containerID: 'victim', ifname: 'eth0' }] } });
  t.is(gc.exitCode, 0, gc.stdout);
  const left = await residue();
  t.is(left.veths.length, 1);
  t.deepEqual(left.inside, ['lo', 'eth0']);
  t.deepEqual(JSON.parse((await sb.exec('ip', ['-j', 'link'], other.path)).stdout).map((l: any) => l.ifname), ['lo']);
});
