// tuning chained after bridge: sysctls and link settings applied inside the container, the
// prevResult passed on, originals restored on DEL.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from './sandbox.js';

async function attached(t: any) {
  const sb = await Sandbox.create(t);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-tuning-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = await sb.container();
  const bridge = { cniVersion: '1.0.0', name: 'tnet', type: 'bridge', bridge: 'ctbr1', isGateway: true, ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: '10.98.0.0/24' }]] } };
  const add = await sb.plugin('bridge', { command: 'ADD', config: bridge, containerId: 'c1', netns: c.path });
  t.is(add.exitCode, 0, add.stdout);
  const tuning = (extra: object = {}) => ({
    cniVersion: '1.0.0',
    name: 'tnet',
    type: 'tuning',
    dataDir: join(dir, 'tuning'),
    sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1', 'net/ipv6/conf/IFNAME/accept_ra': '0' },
    mtu: 1280,
    promisc: true,
    allmulti: true,
    txQLen: 42,
    mac: '02:00:00:aa:bb:cc',
    prevResult: add.json,
    ...extra,
  });
  const run = (command: string, extra: object = {}) => sb.plugin('tuning', { command, config: tuning(extra), containerId: 'c1', netns: c.path });
  const link = async () => JSON.parse((await sb.exec('ip', ['-j', '-d', 'link', 'show', 'eth0'], c.path)).stdout)[0];
  const sysctl = async (k: string) => (await sb.exec('sysctl', ['-n', k], c.path)).stdout.trim();
  return { sb, c, dir, add, run, link, sysctl };
}

test('ADD applies sysctls and link settings and passes prevResult on with the new MAC; DEL restores', async (t) => {
  const { run, link, sysctl, add, dir } = await attached(t);
  const before = await link();
  const beforeNotify = await sysctl('net.ipv4.conf.eth0.arp_notify');
  const r = await run('ADD');
  t.is(r.exitCode, 0, r.stdout);
  t.deepEqual(r.json.ips, add.json.ips);
  t.is(r.json.interfaces[2].mac, '02:00:00:aa:bb:cc');
  const after = await link();
  t.like(after, { mtu: 1280, address: '02:00:00:aa:bb:cc', txqlen: 42 });
  t.true(after.flags.includes('PROMISC'));
  t.true(after.flags.includes('ALLMULTI'));
  t.is(await sysctl('net.ipv4.conf.eth0.arp_notify'), '1');
  t.is(await sysctl('net.ipv6.conf.eth0.accept_ra'), '0');
  t.is((await run('CHECK')).exitCode, 0);

  for (let i = 0; i < 2; i++) t.is((await run('DEL')).exitCode, 0);
  const restored = await link();
  t.like(restored, { mtu: before.mtu, address: before.address, txqlen: before.txqlen });
  t.false(restored.flags.includes('PROMISC'));
  t.is(await sysctl('net.ipv4.conf.eth0.arp_notify'), beforeNotify);
  t.deepEqual(readdirSync(join(dir, 'tuning')), []);
});

test('CHECK fails clearly when a setting drifted; bad keys are refused before any change', async (t) => {
  const { run, sb, c, link } = await attached(t);
  t.is((await run('ADD')).exitCode, 0);
  await sb.exec('ip', ['link', 'set', 'eth0', 'mtu', '1400'], c.path);
  const check = await run('CHECK');
  t.is(check.json.code, 105);
  t.regex(check.json.msg, /eth0 mtu is 1400, the config sets 1280/);
  t.is((await run('DEL')).exitCode, 0);

  const mtu = (await link()).mtu;
  for (const sysctl of [{ 'kernel.panic': '1' }, { 'net.ipv4.conf.IFNAME.../x': '1' }, { 'net/../kernel/panic': '1' }]) {
    const bad = await run('ADD', { sysctl });
    t.is(bad.json?.code, 7, JSON.stringify(sysctl));
  }
  t.is((await run('ADD', { prevResult: undefined })).json.code, 7);
  t.is((await link()).mtu, mtu);
});
