// The IPAM commands in-process against temporary data dirs (the process-level tests live in
// integration/ipam-*.test.ts).
import test from 'ava';
import { readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { NetConf } from '../cni/types.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from './index.js';
import { cmdArgs, netConf, tempDir } from './testing.js';

const v4 = [[{ subnet: '10.1.0.0/24' }]];
const dual = [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00:1::/64' }]];

function setup(t: import('ava').ExecutionContext, ranges: unknown = v4, ipam: Record<string, unknown> = {}, extra: Partial<NetConf> = {}) {
  const dataDir = tempDir(t);
  const conf = netConf({ ranges, dataDir, ...ipam }, extra);
  const files = () => readdirSync(join(dataDir, 'n1')).sort();
  const add = async (id = 'c1', ifname = 'eth0', args: Record<string, string> = {}, c: NetConf = conf) =>
    (await ipamAdd(cmdArgs('ADD', id, ifname, args), c)).ips?.map((ip) => ip.address);
  return { dataDir, conf, files, add };
}

async function cniError(t: import('ava').ExecutionContext, p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  const err = await t.throwsAsync(p, { instanceOf: CniError });
  t.is(err?.code, code);
  t.regex(err?.message ?? '', message);
}

test('ADD returns one address per range set, with gateways, routes and DNS, and no interface index', async (t) => {
  const { dataDir, conf } = setup(t, dual, { routes: [{ dst: '0.0.0.0/0' }] });
  writeFileSync(join(dataDir, 'resolv.conf'), 'nameserver 10.1.0.53\nsearch example.com\n');
  (conf.ipam as Record<string, unknown>).resolvConf = join(dataDir, 'resolv.conf');
  const result = await ipamAdd(cmdArgs('ADD'), conf);
  t.deepEqual(result, {
    cniVersion: '1.1.0',
    ips: [
      { address: '10.1.0.2/24', gateway: '10.1.0.1' },
      { address: 'fd00:1::2/64', gateway: 'fd00:1::1' },
    ],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: { nameservers: ['10.1.0.53'], search: ['example.com'] },
  });
  t.is(readFileSync(join(dataDir, 'n1', 'fd00:1::2'), 'utf8'), 'c1\r\neth0');
  t.is(readFileSync(join(dataDir, 'n1', 'last_reserved_ip.1'), 'utf8'), 'fd00:1::2');
});

test('addresses go round robin: a released address is not reused at once', async (t) => {
  const { add, conf } = setup(t, [[{ subnet: '10.1.0.0/29' }]]); // .2 - .6
  t.deepEqual(await add('c1'), ['10.1.0.2/29']);
  t.deepEqual(await add('c2'), ['10.1.0.3/29']);
  await ipamDel(cmdArgs('DEL', 'c1'), conf);
  t.deepEqual(await add('c3'), ['10.1.0.4/29']);
  t.deepEqual(await add('c4'), ['10.1.0.5/29']);
  t.deepEqual(await add('c5'), ['10.1.0.6/29']);
  t.deepEqual(await add('c6'), ['10.1.0.2/29'], 'wraps around to the released address');
});

test('a second ADD of the same attachment fails and names what it holds; another ifname is a new attachment', async (t) => {
  const { add } = setup(t);
  await add('c1', 'eth0');
  await cniError(t, add('c1', 'eth0'), ErrorCode.AddressConflict, /container c1 \(eth0\) already holds 10\.1\.0\.2 in range set 0 \(10\.1\.0\.1-10\.1\.0\.254\) of network "n1"/);
  t.deepEqual(await add('c1', 'net1'), ['10.1.0.3/24']);
});

test('ADD is all or nothing across range sets', async (t) => {
  const { add, files } = setup(t, [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.9.0.0/30' }]]);
  await add('c1');
  await cniError(t, add('c2'), ErrorCode.AddressExhausted, /^no free address in range 10\.9\.0\.1-10\.9\.0\.2 of network "n1"$/);
  t.deepEqual(files(), ['10.1.0.2', '10.9.0.2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
});

test('requested addresses: CNI_ARGS IP, runtimeConfig.ips; conflicts name the holder', async (t) => {
  const { add, conf } = setup(t, dual);
  t.deepEqual(await add('c1', 'eth0', { IP: '10.1.0.50,fd00:1::50' }), ['10.1.0.50/24', 'fd00:1::50/64']);
  await cniError(t, add('c2', 'eth0', { IP: '10.1.0.50' }), ErrorCode.AddressConflict, /requested address 10\.1\.0\.50 is already taken by container c1 \(eth0\)/);
  const withIps = { ...conf, runtimeConfig: { ips: ['fd00:1::60/64'] } };
  t.deepEqual(await add('c3', 'eth0', {}, withIps), ['10.1.0.51/24', 'fd00:1::60/64']);
  await cniError(t, add('c4', 'eth0', { IP: '10.2.0.1' }), ErrorCode.InvalidNetworkConfig, /outside every range of network "n1"/);
});

test('DEL releases the attachment, is idempotent and ignores unknown containers', async (t) => {
  const { add, conf, files } = setup(t);
  await add('c1', 'eth0');
  await add('c1', 'net1');
  await ipamDel(cmdArgs('DEL', 'c1', 'eth0'), conf);
  t.deepEqual(files(), ['10.1.0.3', 'last_reserved_ip.0', 'lock']);
  await ipamDel(cmdArgs('DEL', 'c1', 'eth0'), conf);
  await ipamDel(cmdArgs('DEL', 'nobody', 'eth0'), conf);
  await ipamDel(cmdArgs('DEL', 'c1', 'net1'), conf);
  t.deepEqual(files(), ['last_reserved_ip.0', 'lock']);
});

test('DEL with a prevResult listing all the attachment\'s addresses reads only their files; otherwise the whole store', async (t) => {
  const { add, conf, dataDir, files } = setup(t, dual);
  const mine = (await add('c1'))!;
  const others = [...(await add('c2'))!, ...(await add('c3'))!];
  const withPrev = (addresses: string[]): NetConf => ({ ...conf, prevResult: { cniVersion: '1.1.0', ips: addresses.map((address) => ({ address })) } });
  const nameOf = (cidr: string) => cidr.split('/')[0]!;
  const fileOf = (cidr: string) => join(dataDir, 'n1', nameOf(cidr));
  const held = (addresses: string[]) => addresses.filter((a) => files().includes(nameOf(a)));
  // relatime: a read sets atime again once it is older than mtime.
  const age = () => others.forEach((a) => utimesSync(fileOf(a), 1_000, 2_000));
  const untouched = () => others.every((a) => statSync(fileOf(a)).atimeMs === 1_000_000);

  age();
  await ipamDel(cmdArgs('DEL', 'c1'), withPrev(mine));
  t.deepEqual(held(mine), [], 'both addresses released');
  t.true(untouched(), 'no other reservation was read');

  // Only one of its two addresses listed: the store is read, and both are released all the same.
  const again = (await add('c1'))!;
  age();
  await ipamDel(cmdArgs('DEL', 'c1'), withPrev([again[0]!]));
  t.deepEqual(held(again), []);
  t.false(untouched(), 'the whole store was read');

  // An address another attachment holds: nothing of it is released.
  const third = (await add('c1'))!;
  await ipamDel(cmdArgs('DEL', 'c1'), withPrev([third[0]!, others[1]!]));
  t.deepEqual(held(third), []);
  t.deepEqual(held(others), others);
});

test('DEL by container ID releases legacy ID-only reservations', async (t) => {
  const { conf, dataDir, files } = setup(t);
  await ipamStatus(cmdArgs('STATUS', ''), conf); // creates the store
  writeFileSync(join(dataDir, 'n1', '10.1.0.9'), 'old-container');
  await ipamDel(cmdArgs('DEL', 'old-container', 'eth0'), conf);
  t.deepEqual(files(), ['lock']);
});

test('CHECK: the attachment holds an address in every set, and the one prevResult lists', async (t) => {
  const { add, conf } = setup(t, dual);
  await add('c1');
  await ipamCheck(cmdArgs('CHECK', 'c1'), conf);
  const prev = (addresses: string[]) => ({ ...conf, prevResult: { cniVersion: '1.1.0', ips: addresses.map((address) => ({ address })) } });
  await ipamCheck(cmdArgs('CHECK', 'c1'), prev(['10.1.0.2/24', 'fd00:1::2/64']));
  await cniError(t, ipamCheck(cmdArgs('CHECK', 'c1'), prev(['10.1.0.7/24'])), ErrorCode.AddressConflict, /prevResult lists 10\.1\.0\.7 for container c1 \(eth0\), but the store records 10\.1\.0\.2/);
  await cniError(t, ipamCheck(cmdArgs('CHECK', 'c2'), conf), ErrorCode.UnknownContainer, /container c2 \(eth0\) holds no address in range set 0/);
  // A set added to the config since ADD is missing for the attachment.
  const grown = { ...conf, ipam: { ...conf.ipam!, ranges: [...dual, [{ subnet: '10.7.0.0/24' }]] } };
  await cniError(t, ipamCheck(cmdArgs('CHECK', 'c1'), grown), ErrorCode.UnknownContainer, /holds no address in range set 2 \(10\.7\.0\.1-10\.7\.0\.254\)/);
});

test('GC releases what no valid attachment owns, and only reservation files', async (t) => {
  const { add, conf, dataDir, files } = setup(t);
  await add('c1', 'eth0');
  await add('c2', 'eth0');
  await add('c3', 'eth0');
  writeFileSync(join(dataDir, 'n1', '10.1.0.20'), 'legacy-kept');
  writeFileSync(join(dataDir, 'n1', '10.1.0.21'), 'legacy-gone');
  writeFileSync(join(dataDir, 'n1', 'README'), 'not ours');
  const gc = (runtimeConfig: NetConf['runtimeConfig']) => ipamGc(cmdArgs('GC', ''), { ...conf, cniVersion: '1.1.0', runtimeConfig });
  await gc({
    'cni.dev/valid-attachments': [
      { containerID: 'c1', ifname: 'eth0' },
      { containerID: 'c2', ifname: 'net1' },
      { containerID: 'legacy-kept', ifname: 'eth0' },
    ],
  });
  t.deepEqual(files(), ['10.1.0.2', '10.1.0.20', 'README', 'last_reserved_ip.0', 'lock']);
  await gc(undefined);
  t.deepEqual(files(), ['10.1.0.2', '10.1.0.20', 'README', 'last_reserved_ip.0', 'lock'], 'no list: nothing is released');
  await gc({ 'cni.dev/attachments': [{ containerID: 'c1', ifname: 'eth0' }] });
  t.deepEqual(files(), ['10.1.0.2', 'README', 'last_reserved_ip.0', 'lock'], 'the legacy key is honoured');
  await gc({ 'cni.dev/valid-attachments': [] });
  t.deepEqual(files(), ['README', 'last_reserved_ip.0', 'lock'], 'an empty list releases everything');
  await cniError(t, gc({ 'cni.dev/valid-attachments': [{ id: 'c1' }] as never }), ErrorCode.InvalidNetworkConfig, /must be a list of \{"containerID", "ifname"\} objects/);
});

test('STATUS: fine while addresses remain; code 50 when a set is full or the store unusable', async (t) => {
  const { add, conf } = setup(t, [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.9.0.0/30' }]]);
  await ipamStatus(cmdArgs('STATUS', ''), conf);
  await add('c1');
  await cniError(t, ipamStatus(cmdArgs('STATUS', ''), conf), ErrorCode.PluginNotAvailable, /no free address in range set 1 \(10\.9\.0\.1-10\.9\.0\.2\) of network "n1"/);
  const dataDir = tempDir(t);
  writeFileSync(join(dataDir, 'not-a-dir'), '');
  const broken = netConf({ ranges: v4, dataDir: join(dataDir, 'not-a-dir') });
  await cniError(t, ipamStatus(cmdArgs('STATUS', ''), broken), ErrorCode.PluginNotAvailable, /the store is not usable/);
});
