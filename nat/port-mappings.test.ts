import test from 'ava';
import { claim } from './testing.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import { claimOf, claimsOverlap, conflictMessage, hostIpsOverlap, mappingsFor, normalizeMapping, reachesLocalhost } from './port-mappings.js';

test('defaults: tcp, every address, a single port', (t) => {
  t.deepEqual(normalizeMapping({ hostPort: 8080, containerPort: 80 }), { protocol: 'tcp', hostIP: '', hostPort: 8080, hostPortEnd: 8080, containerPort: 80 });
});

test('every protocol, case-insensitive; others refused with code 7', (t) => {
  for (const p of ['tcp', 'UDP', 'Sctp']) t.is(normalizeMapping({ hostPort: 1, containerPort: 1, protocol: p }).protocol, p.toLowerCase() as never);
  const err = t.throws(() => normalizeMapping({ hostPort: 1, containerPort: 1, protocol: 'icmp' }, 'portMappings[0]'), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.InvalidNetworkConfig);
  t.is(err?.message, 'portMappings[0] has an unsupported protocol "icmp" (tcp, udp or sctp)');
});

test('hostIP forms: empty, wildcards, specific, canonicalized; garbage refused', (t) => {
  const ip = (hostIP: string) => normalizeMapping({ hostPort: 1, containerPort: 1, hostIP }).hostIP;
  t.is(ip(''), '');
  t.is(ip('0.0.0.0'), '0.0.0.0');
  t.is(ip('::'), '::');
  t.is(ip('10.1.2.3'), '10.1.2.3');
  t.is(ip('FD00:0:0::0001'), 'fd00::1');
  t.throws(() => ip('10.1.2'), { message: /invalid hostIP "10.1.2"/ });
  t.throws(() => ip('10.0.0.1/24'), { message: /invalid hostIP/ });
});

test('ports: 1-65535 integers', (t) => {
  t.throws(() => normalizeMapping({ hostPort: 0, containerPort: 80 }), { message: /invalid hostPort 0/ });
  t.throws(() => normalizeMapping({ hostPort: 80, containerPort: 65536 }), { message: /invalid containerPort 65536/ });
  t.throws(() => normalizeMapping({ hostPort: 80.5, containerPort: 80 }), { message: /invalid hostPort 80.5/ });
  t.throws(() => normalizeMapping({ hostPort: '80' as never, containerPort: 80 }), { message: /invalid hostPort "80"/ });
});

test('ranges: same length onto the container, reversed and mismatched refused', (t) => {
  t.deepEqual(normalizeMapping({ hostPort: 8080, hostPortEnd: 8090, containerPort: 80 }), { protocol: 'tcp', hostIP: '', hostPort: 8080, hostPortEnd: 8090, containerPort: 80 });
  t.is(normalizeMapping({ hostPort: 8080, hostPortEnd: 8090, containerPort: 80, containerPortEnd: 90 }).hostPortEnd, 8090);
  t.throws(() => normalizeMapping({ hostPort: 8090, hostPortEnd: 8080, containerPort: 80 }), { message: /reversed host port range 8090-8080/ });
  t.throws(() => normalizeMapping({ hostPort: 8080, hostPortEnd: 8090, containerPort: 80, containerPortEnd: 85 }), { message: /onto container ports 80-85: the ranges must have the same length/ });
  t.throws(() => normalizeMapping({ hostPort: 100, hostPortEnd: 200, containerPort: 65500 }), { message: /past 65535/ });
  // Docker's HostPortEnd 0 means "not a range".
  t.is(normalizeMapping({ hostPort: 8080, hostPortEnd: 0, containerPort: 80 }).hostPortEnd, 8080);
});

test('mappingsFor: no hostIP applies to both families; a hostIP only to its own', (t) => {
  const ms = [
    normalizeMapping({ hostPort: 1, containerPort: 1 }),
    normalizeMapping({ hostPort: 2, containerPort: 2, hostIP: '0.0.0.0' }),
    normalizeMapping({ hostPort: 3, containerPort: 3, hostIP: '::' }),
    normalizeMapping({ hostPort: 4, containerPort: 4, hostIP: '192.0.2.1' }),
    normalizeMapping({ hostPort: 5, containerPort: 5, hostIP: '2001:db8::1' }),
  ];
  const v4 = mappingsFor(4, ms);
  const v6 = mappingsFor(6, ms);
  t.deepEqual(v4.map((m) => [m.hostPort, m.bindIP, m.wildcard]), [[1, '0.0.0.0', true], [2, '0.0.0.0', true], [4, '192.0.2.1', false]]);
  t.deepEqual(v6.map((m) => [m.hostPort, m.bindIP, m.wildcard]), [[1, '::', true], [3, '::', true], [5, '2001:db8::1', false]]);
  t.deepEqual(v4.map(reachesLocalhost), [true, true, false]);
  t.deepEqual(v6.map(reachesLocalhost), [false, false, false]);
  t.true(reachesLocalhost(mappingsFor(4, [normalizeMapping({ hostPort: 1, containerPort: 1, hostIP: '127.0.0.1' })])[0]!));
});


test('overlap: 0.0.0.0 against every IPv4 address, specific against specific only when equal', (t) => {
  t.true(claimsOverlap(claim('0.0.0.0', 8080), claim('10.0.0.1', 8080)));
  t.true(claimsOverlap(claim('10.0.0.1', 8080), claim('0.0.0.0', 8080)));
  t.true(claimsOverlap(claim('10.0.0.1', 8080), claim('10.0.0.1', 8080)));
  t.false(claimsOverlap(claim('10.0.0.1', 8080), claim('10.0.0.2', 8080)));
  t.false(claimsOverlap(claim('0.0.0.0', 8080), claim('::', 8080)), 'families are separate');
  t.true(claimsOverlap(claim('::', 8080), claim('fd00::1', 8080)));
  t.false(claimsOverlap(claim('0.0.0.0', 8080), claim('0.0.0.0', 8080, 8080, 'udp')), 'protocols are separate');
  t.false(claimsOverlap(claim('0.0.0.0', 8080), claim('0.0.0.0', 8081)));
  t.true(claimsOverlap(claim('0.0.0.0', 8000, 8100), claim('0.0.0.0', 8100, 8200)), 'ranges sharing one port');
  t.false(claimsOverlap(claim('0.0.0.0', 8000, 8099), claim('0.0.0.0', 8100, 8200)));
});

test("host addresses: '' (Docker's any address) overlaps everything, wildcards their own family only", (t) => {
  t.true(hostIpsOverlap('', '10.0.0.1'));
  t.true(hostIpsOverlap('fd00::1', ''));
  t.true(hostIpsOverlap('::', 'fd00::1'));
  t.false(hostIpsOverlap('0.0.0.0', 'fd00::1'));
  t.false(hostIpsOverlap('10.0.0.1', '10.0.0.2'));
  t.true(hostIpsOverlap('10.0.0.1', '10.0.0.1'));
});

test('the conflict message names the port, protocol and the address it is allocated on', (t) => {
  t.is(conflictMessage(claim('10.0.0.1', 8080), claim('0.0.0.0', 8080)), 'port 8080/tcp is already allocated on 0.0.0.0');
  t.is(conflictMessage(claim('0.0.0.0', 8000, 8100, 'udp'), claim('0.0.0.0', 8050, 8060, 'udp')), 'port 8050/udp is already allocated on 0.0.0.0');
  t.deepEqual(claimOf(mappingsFor(6, [normalizeMapping({ hostPort: 53, containerPort: 53, protocol: 'udp' })])[0]!), claim('::', 53, 53, 'udp'));
});
