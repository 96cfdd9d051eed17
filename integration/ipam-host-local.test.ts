// ctnet's host-local executable, one command at a time: the spec errors it prints, the result
// shapes per version, and the store it leaves behind. Needs `npm run build`.
import test from 'ava';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../cni/errors.js';
import { type HostLocalRun, requireBuiltPlugin, runHostLocal, tempDir } from '../ipam/testing.js';

requireBuiltPlugin();

function network(t: import('ava').ExecutionContext, ipam: Record<string, unknown>, cniVersion = '1.1.0') {
  const dataDir = tempDir(t);
  const config = { cniVersion, name: 'n1', type: 'bridge', ipam: { type: 'host-local', dataDir, ...ipam } };
  const run = (command: HostLocalRun['command'], more: Partial<HostLocalRun> = {}) => runHostLocal({ command, config, ...more });
  const files = () => readdirSync(join(dataDir, 'n1')).sort();
  return { dataDir, config, run, files };
}

test('a /30 gives one address, then code 100 naming the network and the range', async (t) => {
  const { run } = network(t, { ranges: [[{ subnet: '10.9.0.0/30' }]] });
  const first = await run('ADD', { containerId: 'c1' });
  t.is(first.exitCode, 0, first.stdout);
  t.deepEqual(first.json?.ips, [{ address: '10.9.0.2/30', gateway: '10.9.0.1' }]);
  const second = await run('ADD', { containerId: 'c2' });
  t.is(second.exitCode, 1);
  t.deepEqual(second.json, { cniVersion: '1.1.0', code: ErrorCode.AddressExhausted, msg: 'no free address in range 10.9.0.1-10.9.0.2 of network "n1"' });
});

test('requested addresses: granted when free, code 101 naming the holder when taken, code 7 outside the ranges', async (t) => {
  const { run } = network(t, { ranges: [[{ subnet: '10.1.0.0/24' }]] });
  const granted = await run('ADD', { containerId: 'c1', cniArgs: 'IP=10.1.0.77' });
  t.deepEqual(granted.json?.ips?.map((ip) => ip.address), ['10.1.0.77/24']);
  const taken = await run('ADD', { containerId: 'c2', cniArgs: 'IP=10.1.0.77' });
  t.is(taken.exitCode, 1);
  t.is(taken.json?.code, ErrorCode.AddressConflict);
  t.is(taken.json?.msg, 'requested address 10.1.0.77 is already taken by container c1 (eth0) in network "n1"');
  const outside = await run('ADD', { containerId: 'c3', cniArgs: 'IgnoreUnknown=1;IP=10.2.0.1;K8S_POD_NAME=x' });
  t.is(outside.json?.code, ErrorCode.InvalidNetworkConfig);
  t.regex(outside.json?.msg ?? '', /requested address 10\.2\.0\.1 is outside every range of network "n1"/);
});

test('DEL twice and DEL of an unknown container both succeed', async (t) => {
  const { run, files } = network(t, { ranges: [[{ subnet: '10.1.0.0/24' }]] });
  t.is((await run('ADD', { containerId: 'c1' })).exitCode, 0);
  for (const containerId of ['c1', 'c1', 'never-added']) {
    const del = await run('DEL', { containerId });
    t.is(del.exitCode, 0, del.stdout);
    t.is(del.stdout, '');
  }
  t.deepEqual(files(), ['last_reserved_ip.0', 'lock']);
});

test('CHECK succeeds for a held address and fails after DEL', async (t) => {
  const { run, config } = network(t, { ranges: [[{ subnet: '10.1.0.0/24' }]] });
  const add = await run('ADD', { containerId: 'c1' });
  t.is((await run('CHECK', { containerId: 'c1', config: { ...config, prevResult: add.json } })).exitCode, 0);
  await run('DEL', { containerId: 'c1' });
  const check = await run('CHECK', { containerId: 'c1' });
  t.is(check.exitCode, 1);
  t.is(check.json?.code, ErrorCode.UnknownContainer);
});

test('GC keeps the valid attachments and releases the rest; an empty list releases everything', async (t) => {
  const { run, config, files } = network(t, { ranges: [[{ subnet: '10.1.0.0/24' }]] });
  for (const containerId of ['c1', 'c2', 'c3']) t.is((await run('ADD', { containerId })).exitCode, 0);
  const gc = (valid: unknown[]) => run('GC', { config: { ...config, runtimeConfig: { 'cni.dev/valid-attachments': valid } } });
  const kept = await gc([{ containerID: 'c2', ifname: 'eth0' }]);
  t.is(kept.exitCode, 0, kept.stdout);
  t.deepEqual(files(), ['10.1.0.3', 'last_reserved_ip.0', 'lock']);
  t.is((await gc([])).exitCode, 0);
  t.deepEqual(files(), ['last_reserved_ip.0', 'lock']);
});

test('STATUS succeeds while addresses remain and is code 50 on an exhausted pool', async (t) => {
  const { run } = network(t, { ranges: [[{ subnet: '10.9.0.0/30' }]] });
  const ok = await run('STATUS');
  t.is(ok.exitCode, 0, ok.stdout);
  t.is(ok.stdout, '');
  await run('ADD', { containerId: 'c1' });
  const full = await run('STATUS');
  t.is(full.exitCode, 1);
  t.is(full.json?.code, ErrorCode.PluginNotAvailable);
  t.regex(full.json?.msg ?? '', /no free address in range set 0 \(10\.9\.0\.1-10\.9\.0\.2\) of network "n1"/);
});

test('config errors are code 7 with the offending field', async (t) => {
  const { run } = network(t, { ranges: [[{ subnet: '10.1.2.3/24' }]] });
  const bad = await run('ADD');
  t.is(bad.exitCode, 1);
  t.is(bad.json?.code, ErrorCode.InvalidNetworkConfig);
  t.regex(bad.json?.msg ?? '', /ipam\.ranges\[0\]\[0\]\.subnet 10\.1\.2\.3\/24 has host bits set/);
});

test('results are shaped per version: 0.3.1 tags each IP with its family, 1.0.0 does not; neither has interfaces', async (t) => {
  const ipam = { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00:1::/64' }]], routes: [{ dst: '0.0.0.0/0' }] };
  const old = await network(t, ipam, '0.3.1').run('ADD');
  t.deepEqual(old.json, {
    cniVersion: '0.3.1',
    ips: [
      { version: '4', address: '10.1.0.2/24', gateway: '10.1.0.1' },
      { version: '6', address: 'fd00:1::2/64', gateway: 'fd00:1::1' },
    ],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  });
  const current = await network(t, ipam, '1.0.0').run('ADD');
  t.deepEqual(current.json, {
    cniVersion: '1.0.0',
    ips: [
      { address: '10.1.0.2/24', gateway: '10.1.0.1' },
      { address: 'fd00:1::2/64', gateway: 'fd00:1::1' },
    ],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  });
});

test('resolvConf fills the DNS section', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.1.0.53\ndomain example.com\noptions ndots:1\n');
  const { run, dataDir } = network(t, { ranges: [[{ subnet: '10.1.0.0/24' }]], resolvConf: join(dir, 'resolv.conf') });
  const add = await run('ADD');
  t.deepEqual(add.json?.dns, { nameservers: ['10.1.0.53'], domain: 'example.com', options: ['ndots:1'] });
  t.is(readFileSync(join(dataDir, 'n1', '10.1.0.2'), 'utf8'), 'c1\r\neth0');
});
