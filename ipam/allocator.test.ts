// Pure allocator tests: the "store" is a Map of taken addresses, no disk involved.
import test from 'ava';
import fc from 'fast-check';
import { CniError, ErrorCode } from '../cni/errors.js';
import { type TakenAddresses, allocate, assignRequested, findFree, roundRobin } from './allocator.js';
import { type IpAddr, formatAddr, lastOf, networkOf, parseAddr } from '../ip/address.js';
import type { Owner } from './owner.js';
import { type RangeSet, isAssignable } from './range.js';
import { rangeSetsOf } from './testing.js';

const addr = (text: string): IpAddr => parseAddr(text)!;
const owner: Owner = { containerId: 'other', ifname: 'eth0' };
const takenOf = (...texts: string[]): TakenAddresses => new Map(texts.map((x) => [x, owner]));
const setOf = (ranges: unknown[]): RangeSet => rangeSetsOf([ranges])[0]!;
const pick = (set: RangeSet, taken: TakenAddresses = new Map(), last?: string) =>
  formatAddr(allocate({ network: 'n1', set, taken, lastReserved: last ? addr(last) : undefined }).address);

test('IPv4: the first address after the gateway, then the next free one', (t) => {
  const set = setOf([{ subnet: '10.1.0.0/24' }]);
  t.is(pick(set), '10.1.0.2');
  t.is(pick(set, takenOf('10.1.0.2', '10.1.0.3')), '10.1.0.4');
});

test('IPv6 starts after the gateway and may use the last address', (t) => {
  const set = setOf([{ subnet: 'fd00::/126' }]);
  t.is(pick(set), 'fd00::2');
  t.is(pick(set, takenOf('fd00::2')), 'fd00::3');
});

test('dual stack: each range set gives one address of its own family', (t) => {
  const [v4, v6] = rangeSetsOf([[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00:1::/64' }]]);
  const taken = takenOf('10.1.0.2', 'fd00:1::2');
  t.is(pick(v4!, taken), '10.1.0.3');
  t.is(pick(v6!, taken), 'fd00:1::3');
});

test('round robin continues after the last reserved address and wraps around', (t) => {
  const set = setOf([{ subnet: '10.1.0.0/29' }]); // assignable .2 - .6
  t.is(pick(set, new Map(), '10.1.0.3'), '10.1.0.4');
  t.is(pick(set, takenOf('10.1.0.4'), '10.1.0.3'), '10.1.0.5');
  t.is(pick(set, new Map(), '10.1.0.6'), '10.1.0.2', 'wraps past the end, skipping the gateway');
  t.is(pick(set, takenOf('10.1.0.2', '10.1.0.3', '10.1.0.5', '10.1.0.6'), '10.1.0.4'), '10.1.0.4', 'the cursor itself comes last');
  t.is(pick(set, new Map(), '192.168.0.1'), '10.1.0.2', 'a cursor outside the set restarts at the beginning');
});

test('round robin walks across the ranges of a set', (t) => {
  const set = setOf([{ subnet: '10.1.0.0/30' }, { subnet: '10.2.0.0/30' }]); // .1.2 and .2.2
  t.is(pick(set, new Map(), '10.1.0.2'), '10.2.0.2');
  t.is(pick(set, new Map(), '10.2.0.2'), '10.1.0.2');
  t.is(pick(set, takenOf('10.1.0.2')), '10.2.0.2');
  const order = [...roundRobin(set, addr('10.1.0.1'))].map((c) => formatAddr({ family: 4, value: c.value }));
  t.deepEqual(order, ['10.1.0.2', '10.2.0.1', '10.2.0.2', '10.1.0.1']);
});

test('a full set is a code 100 error naming the network and the range', (t) => {
  const set = setOf([{ subnet: '10.9.0.0/30' }]);
  const err = t.throws(() => pick(set, takenOf('10.9.0.2')), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.AddressExhausted);
  t.is(err?.message, 'no free address in range 10.9.0.1-10.9.0.2 of network "n1"');
  const two = setOf([{ subnet: '10.9.0.0/30' }, { subnet: '10.9.1.0/30' }]);
  t.throws(() => pick(two, takenOf('10.9.0.2', '10.9.1.2')), { message: 'no free address in ranges 10.9.0.1-10.9.0.2, 10.9.1.1-10.9.1.2 of network "n1"' });
});

test('a user-set range never yields the network or broadcast address', (t) => {
  const set = setOf([{ subnet: '10.1.0.0/30', rangeStart: '10.1.0.0', rangeEnd: '10.1.0.3', gateway: '10.1.0.2' }]);
  t.is(pick(set), '10.1.0.1');
  t.throws(() => pick(set, takenOf('10.1.0.1')), { message: /no free address in range 10\.1\.0\.0-10\.1\.0\.3/ });
});

test('a requested address is given if free, else the error says why', (t) => {
  const set = setOf([{ subnet: '10.1.0.0/24', rangeEnd: '10.1.0.100' }]);
  const request = (text: string, taken: TakenAddresses = new Map()) =>
    formatAddr(allocate({ network: 'n1', set, taken, requested: addr(text), lastReserved: addr('10.1.0.50') }).address);
  t.is(request('10.1.0.9'), '10.1.0.9');
  const taken = t.throws(() => request('10.1.0.9', takenOf('10.1.0.9')), { instanceOf: CniError });
  t.is(taken?.code, ErrorCode.AddressConflict);
  t.is(taken?.message, 'requested address 10.1.0.9 is already taken by container other (eth0) in network "n1"');
  const gw = t.throws(() => request('10.1.0.1'), { instanceOf: CniError });
  t.is(gw?.code, ErrorCode.InvalidNetworkConfig);
  t.is(gw?.message, 'requested address 10.1.0.1 cannot be assigned: it is the gateway of 10.1.0.0/24');
  const outside = t.throws(() => request('10.1.0.200'), { instanceOf: CniError });
  t.is(outside?.code, ErrorCode.InvalidNetworkConfig);
  t.is(outside?.message, 'requested address 10.1.0.200 is outside the range 10.1.0.1-10.1.0.100 of network "n1"');
});

test('requested addresses are matched to their range sets', (t) => {
  const sets = rangeSetsOf([[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00::/64' }]]);
  const got = assignRequested('n1', sets, [addr('fd00::5'), addr('10.1.0.5')]);
  t.deepEqual(got.map((a) => a && formatAddr(a)), ['10.1.0.5', 'fd00::5']);
  t.deepEqual(assignRequested('n1', sets, [addr('10.1.0.5')]).map((a) => a && formatAddr(a)), ['10.1.0.5', undefined]);
  const outside = t.throws(() => assignRequested('n1', sets, [addr('10.2.0.5')]), { instanceOf: CniError });
  t.is(outside?.code, ErrorCode.InvalidNetworkConfig);
  t.is(outside?.message, 'requested address 10.2.0.5 is outside every range of network "n1" (10.1.0.1-10.1.0.254; fd00::1-fd00::ffff:ffff:ffff:ffff)');
  t.throws(() => assignRequested('n1', sets, [addr('10.1.0.5'), addr('10.1.0.6')]), {
    message: /requested addresses 10\.1\.0\.5 and 10\.1\.0\.6 both fall in range set 0 of network "n1"/,
  });
});

// ---- properties --------------------------------------------------------------------------

/** A small IPv4 or IPv6 range set with random bounds, a random taken subset and a random cursor. */
const scenario = fc
  .record({
    v6: fc.boolean(),
    prefix: fc.integer({ min: 0, max: 5 }), // host bits - 2: subnets of 4 to 128 addresses
    startOffset: fc.nat(),
    endOffset: fc.nat(),
    gatewayOffset: fc.nat(),
    takenBits: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
    lastOffset: fc.option(fc.nat(), { nil: undefined }),
  })
  .map((s) => {
    const size = 4 << s.prefix;
    const bits = (s.v6 ? 128 : 32) - Math.log2(size);
    const base = s.v6 ? 'fd00::' : '10.20.30.0';
    const at = (o: number) => formatAddr({ family: s.v6 ? 6 : 4, value: addr(base).value + BigInt(o) });
    let [start, end] = [s.startOffset % size, s.endOffset % size].sort((a, b) => a - b) as [number, number];
    if (!s.v6) [start, end] = [Math.max(start, 1), Math.min(end, size - 2)];
    if (start > end || end - start < 3) [start, end] = [1, size - 2]; // keep some assignable room
    const set = setOf([{ subnet: `${base}/${bits}`, rangeStart: at(start), rangeEnd: at(end), gateway: at(s.gatewayOffset % size) }]);
    const taken = new Map<string, Owner>();
    for (let o = 0; o < size; o++) if ((s.takenBits >> BigInt(o)) & 1n) taken.set(at(o), owner);
    const last = s.lastOffset === undefined ? undefined : addr(at(s.lastOffset % size));
    return { set, taken, last };
  });

test('property: allocation never returns the gateway, network, broadcast or a taken address, and finds one whenever one is free', (t) => {
  fc.assert(
    fc.property(scenario, ({ set, taken, last }) => {
      const r = set[0]!;
      const free: bigint[] = [];
      for (let v = networkOf(r.subnet); v <= lastOf(r.subnet); v++) {
        if (isAssignable(r, v) && !taken.has(formatAddr({ family: r.family, value: v }))) free.push(v);
      }
      const got = findFree(set, taken, last);
      if (free.length === 0) return got === undefined;
      if (!got) return false;
      const v = got.address.value;
      const bad = v === r.gateway || taken.has(formatAddr(got.address)) || v < r.start || v > r.end;
      const v4Edge = r.family === 4 && (v === networkOf(r.subnet) || v === lastOf(r.subnet));
      t.false(bad || v4Edge);
      return !bad && !v4Edge && free.includes(v);
    }),
  );
  t.pass();
});

test('property: the choice is the first free address after the cursor, cyclically', (t) => {
  fc.assert(
    fc.property(scenario, ({ set, taken, last }) => {
      const r = set[0]!;
      const got = findFree(set, taken, last);
      if (!got) return true;
      const cursor = last && last.value >= r.start && last.value <= r.end ? last.value : r.start - 1n;
      // Every assignable address strictly between the cursor and the choice (cyclically) is taken.
      const size = r.end - r.start + 1n;
      for (let step = 1n; step <= size; step++) {
        const v = r.start + ((cursor - r.start + step + size) % size);
        if (v === got.address.value) return true;
        if (isAssignable(r, v) && !taken.has(formatAddr({ family: r.family, value: v }))) return false;
      }
      return false;
    }),
  );
  t.pass();
});
