import test from 'ava';
import { DEFAULT_ADDRESS_POOLS, chooseSubnet, findOverlap, parsePools } from './subnet-pools.js';

test('the default pools are Docker\'s: 172.17-31 /16, then 192.168/16 in /20 steps', (t) => {
  t.is(DEFAULT_ADDRESS_POOLS.length, 16);
  t.deepEqual(DEFAULT_ADDRESS_POOLS[0], { base: '172.17.0.0/16', size: 16 });
  t.deepEqual(DEFAULT_ADDRESS_POOLS[14], { base: '172.31.0.0/16', size: 16 });
  t.deepEqual(DEFAULT_ADDRESS_POOLS[15], { base: '192.168.0.0/16', size: 20 });
});

test('the first network (the default bridge) gets 172.17.0.0/16, the next ones follow in order', (t) => {
  t.is(chooseSubnet({ inUse: [] }), '172.17.0.0/16');
  t.is(chooseSubnet({ inUse: ['172.17.0.0/16'] }), '172.18.0.0/16');
  t.is(chooseSubnet({ inUse: ['172.17.0.0/16', '172.19.0.0/16'] }), '172.18.0.0/16');
});

test('after 172.31 come /20s of 192.168', (t) => {
  const all172 = Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`);
  t.is(chooseSubnet({ inUse: all172 }), '192.168.0.0/20');
  t.is(chooseSubnet({ inUse: [...all172, '192.168.0.0/20'] }), '192.168.16.0/20');
});

test('host routes are avoided; the default route is not a conflict', (t) => {
  t.is(chooseSubnet({ inUse: [], hostRoutes: ['0.0.0.0/0', 'default', '172.17.5.0/24'] }), '172.18.0.0/16');
  t.is(chooseSubnet({ inUse: [], hostRoutes: ['172.17.0.1'] }), '172.18.0.0/16');
  // A route covering several pools is skipped in one jump.
  t.is(chooseSubnet({ inUse: [], hostRoutes: ['172.16.0.0/12'] }), '192.168.0.0/20');
  // A subnet in use that is smaller than the pool's steps blocks only its own step.
  t.is(chooseSubnet({ inUse: ['192.168.1.0/24'], pools: [{ base: '192.168.0.0/16', size: 20 }] }), '192.168.16.0/20');
  // Routes of the other family are irrelevant.
  t.is(chooseSubnet({ inUse: [], hostRoutes: ['fd00::/8', '::/0'] }), '172.17.0.0/16');
});

test('configured pools (daemon.json default-address-pools)', (t) => {
  const pools = [{ base: '10.10.0.0/16', size: 24 }];
  t.is(chooseSubnet({ pools, inUse: [] }), '10.10.0.0/24');
  t.is(chooseSubnet({ pools, inUse: ['10.10.0.0/24', '10.10.1.0/24'] }), '10.10.2.0/24');
  t.is(chooseSubnet({ pools, inUse: ['10.10.0.0/23'] }), '10.10.2.0/24');
  t.is(chooseSubnet({ pools: [{ base: 'fd00:1::/48', size: 64 }], family: 6, inUse: ['fd00:1::/64'] }), 'fd00:1:0:1::/64');
});

test('a huge IPv6 pool blocked by a big route does not loop over every step', (t) => {
  t.is(chooseSubnet({ pools: [{ base: 'fd00::/8', size: 64 }], family: 6, inUse: [], hostRoutes: ['fd00::/9'] }), 'fd80::/64');
  t.throws(() => chooseSubnet({ pools: [{ base: 'fd00::/8', size: 64 }], family: 6, inUse: ['fc00::/7'] }), { message: /no free IPv6 subnet left/ });
});

test('exhaustion and missing pools are clear errors', (t) => {
  t.throws(() => chooseSubnet({ pools: [{ base: '10.0.0.0/24', size: 25 }], inUse: ['10.0.0.0/25', '10.0.0.128/25'] }), {
    message: /^no free IPv4 subnet left in the address pools \(10\.0\.0\.0\/24 in \/25 steps\)/,
  });
  t.throws(() => chooseSubnet({ inUse: [], family: 6 }), { message: /^no IPv6 address pool is configured/ });
});

test('invalid pools are refused with the entry named', (t) => {
  t.throws(() => parsePools([{ base: '10.0.0.0/8', size: 4 }]), { message: /default-address-pools\[0\]: size 4 must be a prefix length between 8/ });
  t.throws(() => parsePools([{ base: '10.0.0.1/8', size: 16 }]), { message: /host bits set \(did you mean 10\.0\.0\.0\/8\?\)/ });
  t.throws(() => parsePools([{ base: 'x', size: 16 }]), { message: /default-address-pools\[0\]: base "x" is not a subnet/ });
});

test('findOverlap names the conflicting subnet', (t) => {
  t.is(findOverlap('10.1.0.0/16', ['10.2.0.0/16', '10.1.2.0/24']), '10.1.2.0/24');
  t.is(findOverlap('10.1.0.0/16', ['10.2.0.0/16', 'fd00::/64']), undefined);
});
