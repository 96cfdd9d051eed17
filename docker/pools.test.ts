import test from 'ava';
import { formatAddr } from '../ip/address.js';
import { PluginError } from './errors.js';
import { AUTO_IPV4_POOLS, choosePool, firstHost, newUlaPrefix, poolDirName, poolRanges } from './pools.js';
import type { RequestPoolRequest } from './protocol.js';
import type { PoolRecord } from './state.js';

const ULA = 'fd12:3456:789a::/48';
const req = (o: Partial<RequestPoolRequest> = {}): RequestPoolRequest => ({ AddressSpace: 'ctnet-local', Pool: '', SubPool: '', Options: {}, V6: false, ...o });
const pool = (p: string, v6 = false): PoolRecord => ({ id: `ctnet-local/${p}`, addressSpace: 'ctnet-local', pool: p, subPool: undefined, v6 });
const ctx = (existing: PoolRecord[] = [], hostRoutes: string[] = []) => ({ existing, hostRoutes, ula: ULA });

test('an explicit subnet becomes the pool', (t) => {
  t.deepEqual(choosePool(req({ Pool: '10.1.2.0/24' }), ctx()), { id: 'ctnet-local/10.1.2.0/24', addressSpace: 'ctnet-local', pool: '10.1.2.0/24', subPool: undefined, v6: false });
  t.like(choosePool(req({ AddressSpace: '', Pool: '10.1.2.0/24', SubPool: '10.1.2.128/25' }), ctx()), {
    id: 'ctnet-local/10.1.2.0/24/10.1.2.128/25',
    subPool: '10.1.2.128/25',
  });
  t.like(choosePool(req({ AddressSpace: 'ctnet-global', Pool: 'fd00:1::/64', V6: true }), ctx()), { pool: 'fd00:1::/64', v6: true });
  // Host routes do not stand in the way of a subnet the user chose.
  t.is(choosePool(req({ Pool: '10.1.2.0/24' }), ctx([], ['10.1.0.0/16'])).pool, '10.1.2.0/24');
});

test('an explicit subnet that overlaps a pool in use is refused, naming both', (t) => {
  const existing = [pool('10.1.0.0/16'), pool('fd00:1::/64', true)];
  t.throws(() => choosePool(req({ Pool: '10.1.2.0/24' }), ctx(existing)), { instanceOf: PluginError, message: 'subnet 10.1.2.0/24 overlaps 10.1.0.0/16, which another network uses' });
  t.throws(() => choosePool(req({ Pool: '10.0.0.0/8' }), ctx(existing)), { message: /overlaps 10\.1\.0\.0\/16/ });
  t.throws(() => choosePool(req({ Pool: '10.1.0.0/16' }), ctx(existing)), { message: 'subnet 10.1.0.0/16 is already used by another network' });
  t.throws(() => choosePool(req({ Pool: 'fd00:1::/48', V6: true }), ctx(existing)), { message: /overlaps fd00:1::\/64/ });
  t.is(choosePool(req({ Pool: '10.2.0.0/16' }), ctx(existing)).pool, '10.2.0.0/16', 'IPv6 pools do not block IPv4 ones');
});

test('bad subnets and ranges are refused with the reason', (t) => {
  const cases: Array<[Partial<RequestPoolRequest>, RegExp]> = [
    [{ Pool: '10.1.2.5/24' }, /host bits set \(did you mean 10\.1\.2\.0\/24\?\)/],
    [{ Pool: '10.1.2.0' }, /invalid subnet "10\.1\.2\.0": expected CIDR notation/],
    [{ Pool: '10.1.2.0/31' }, /too small/],
    [{ Pool: 'fd00::/64' }, /not an IPv4 subnet/],
    [{ Pool: '10.1.2.0/24', SubPool: '10.1.3.0/25' }, /ip-range 10\.1\.3\.0\/25 is not inside the subnet 10\.1\.2\.0\/24/],
    [{ SubPool: '10.1.3.0/25' }, /needs a --subnet/],
    [{ AddressSpace: 'default', Pool: '10.1.2.0/24' }, /unknown address space "default"/],
  ];
  for (const [o, message] of cases) t.throws(() => choosePool(req(o), ctx()), { instanceOf: PluginError, message });
});

test('automatic IPv4 pools walk Docker\'s list, skipping pools in use and host routes', (t) => {
  t.is(AUTO_IPV4_POOLS[0]?.base, '172.18.0.0/16', '172.17 stays for Docker\'s default bridge');
  t.is(choosePool(req(), ctx()).pool, '172.18.0.0/16');
  t.is(choosePool(req(), ctx([pool('172.18.0.0/16')])).pool, '172.19.0.0/16');
  t.is(choosePool(req(), ctx([pool('172.18.5.0/24')], ['172.19.0.0/24', '172.20.0.1'])).pool, '172.21.0.0/16');
  t.is(choosePool(req(), ctx([], ['default', '0.0.0.0/0'])).pool, '172.18.0.0/16', 'a default route blocks nothing');
  const all16 = Array.from({ length: 14 }, (_, i) => pool(`172.${18 + i}.0.0/16`));
  t.is(choosePool(req(), ctx(all16)).pool, '192.168.0.0/20');
  t.is(choosePool(req(), ctx([...all16, pool('192.168.0.0/20')])).pool, '192.168.16.0/20');
  const full = [...all16, pool('192.168.0.0/16')];
  t.throws(() => choosePool(req(), ctx(full)), { instanceOf: PluginError, message: /no free IPv4 subnet left/ });
});

test('automatic IPv6 pools are /64s of the plugin\'s ULA /48', (t) => {
  t.is(choosePool(req({ V6: true }), ctx()).pool, 'fd12:3456:789a::/64');
  t.is(choosePool(req({ V6: true }), ctx([pool('fd12:3456:789a::/64', true)])).pool, 'fd12:3456:789a:1::/64');
  t.is(newUlaPrefix(Buffer.from([0x12, 0x34, 0x56, 0x78, 0x9a])), ULA);
  t.regex(newUlaPrefix(Buffer.from([0, 0, 0, 0, 0])), /^fd00::\/48$/);
});

test('allocator ranges: host addresses of the pool, automatic ones from the ip-range', (t) => {
  const text = (v: bigint, family: 4 | 6 = 4) => formatAddr({ family, value: v });
  const { whole, auto } = poolRanges({ ...pool('10.1.2.0/24'), subPool: '10.1.2.128/25' });
  t.deepEqual([text(whole.start), text(whole.end)], ['10.1.2.1', '10.1.2.254']);
  t.deepEqual([text(auto.start), text(auto.end)], ['10.1.2.128', '10.1.2.254']);
  t.is(whole.subnet.prefix, 24);
  const v6 = poolRanges(pool('fd00:1::/64', true)).whole;
  t.deepEqual([text(v6.start, 6), text(v6.end, 6)], ['fd00:1::1', 'fd00:1::ffff:ffff:ffff:ffff']);
  t.is(firstHost(pool('10.1.2.0/24')), '10.1.2.1');
  t.is(poolDirName('ctnet-local/10.1.2.0/24/10.1.2.128/25'), 'ctnet-local_10.1.2.0_24_10.1.2.128_25');
});
