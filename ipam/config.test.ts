import test from 'ava';
import { CniError, ErrorCode } from '../cni/errors.js';
import { loadIpamConfig, requestedAddresses } from './config.js';
import { formatAddr } from '../ip/address.js';
import { formatRange, gatewayText } from './range.js';
import { netConf } from './testing.js';

const summary = (ipam: Record<string, unknown>, extra = {}) =>
  loadIpamConfig(netConf(ipam, extra)).rangeSets.map((set) => set.map((r) => `${formatRange(r)} gw ${gatewayText(r)}`));

function invalid(t: import('ava').ExecutionContext, ipam: Record<string, unknown>, message: RegExp, extra = {}): void {
  const err = t.throws(() => loadIpamConfig(netConf(ipam, extra)), { instanceOf: CniError, message });
  t.is(err?.code, ErrorCode.InvalidNetworkConfig);
}

test('defaults: gateway .1, range from .1 (gateway skipped later) to broadcast-1; IPv6 to the last address', (t) => {
  t.deepEqual(summary({ ranges: [[{ subnet: '10.1.0.0/16' }], [{ subnet: 'fd00:1::/64' }]] }), [
    ['10.1.0.1-10.1.255.254 gw 10.1.0.1'],
    ['fd00:1::1-fd00:1::ffff:ffff:ffff:ffff gw fd00:1::1'],
  ]);
  const cfg = loadIpamConfig(netConf({ ranges: [[{ subnet: '10.1.0.0/16' }]] }));
  t.is(cfg.dataDir, '/var/lib/cni/networks');
  t.is(cfg.network, 'n1');
  t.deepEqual(cfg.routes, []);
});

test('explicit gateway, rangeStart and rangeEnd', (t) => {
  t.deepEqual(summary({ ranges: [[{ subnet: '10.1.0.0/24', gateway: '10.1.0.254', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20' }]] }), [
    ['10.1.0.10-10.1.0.20 gw 10.1.0.254'],
  ]);
});

test('the legacy top-level subnet comes first, then ipam.ranges', (t) => {
  t.deepEqual(summary({ subnet: '10.2.0.0/24', rangeStart: '10.2.0.5', ranges: [[{ subnet: 'fd00::/120' }]] }), [
    ['10.2.0.5-10.2.0.254 gw 10.2.0.1'],
    ['fd00::1-fd00::ff gw fd00::1'],
  ]);
});

test('runtimeConfig.ipRanges replaces the configured ranges', (t) => {
  const extra = { runtimeConfig: { ipRanges: [[{ subnet: '192.168.7.0/24' }]] } };
  t.deepEqual(summary({ subnet: '10.2.0.0/24', ranges: [[{ subnet: '10.3.0.0/24' }]] }, extra), [['192.168.7.1-192.168.7.254 gw 192.168.7.1']]);
  // An empty list is no choice at all.
  t.deepEqual(summary({ ranges: [[{ subnet: '10.3.0.0/24' }]] }, { runtimeConfig: { ipRanges: [] } }), [['10.3.0.1-10.3.0.254 gw 10.3.0.1']]);
});

test('a /30 is the smallest IPv4 subnet, a /126 the smallest IPv6 one', (t) => {
  t.deepEqual(summary({ ranges: [[{ subnet: '10.9.0.0/30' }], [{ subnet: 'fd00::/126' }]] }), [['10.9.0.1-10.9.0.2 gw 10.9.0.1'], ['fd00::1-fd00::3 gw fd00::1']]);
  invalid(t, { ranges: [[{ subnet: '10.9.0.0/31' }]] }, /ipam\.ranges\[0\]\[0\]\.subnet 10\.9\.0\.0\/31 is too small: an IPv4 subnet needs a prefix of \/30 or shorter/);
  invalid(t, { ranges: [[{ subnet: 'fd00::/127' }]] }, /too small: an IPv6 subnet needs a prefix of \/126 or shorter/);
});

test('validation errors name the field and the fix', (t) => {
  invalid(t, { ranges: [[{ subnet: '10.1.2.3/24' }]] }, /ipam\.ranges\[0\]\[0\]\.subnet 10\.1\.2\.3\/24 has host bits set; the subnet is 10\.1\.2\.0\/24/);
  invalid(t, { ranges: [[{ subnet: '10.1.2.0' }]] }, /is not a subnet in CIDR notation/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: 'fd00::/64' }]] }, /ipam\.ranges\[0\] mixes IPv4 and IPv6 ranges/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24', gateway: '10.2.0.1' }]] }, /ipam\.ranges\[0\]\[0\]\.gateway 10\.2\.0\.1 is outside the subnet 10\.1\.0\.0\/24/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24', gateway: 'fd00::1' }]] }, /gateway fd00::1 is outside the subnet/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.1.5' }]] }, /rangeStart 10\.1\.1\.5 is outside the subnet 10\.1\.0\.0\/24/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24', rangeEnd: '10.0.255.255' }]] }, /rangeEnd 10\.0\.255\.255 is outside the subnet/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.50', rangeEnd: '10.1.0.40' }]] }, /rangeStart 10\.1\.0\.50 is after rangeEnd 10\.1\.0\.40/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24', rangeStart: 'ten' }]] }, /rangeStart "ten" is not an IP address/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.1', rangeEnd: '10.1.0.1' }]] }, /holds no assignable address/);
  invalid(t, { ranges: [] }, /no address ranges/);
  invalid(t, {}, /no address ranges/);
  invalid(t, { ranges: [[]] }, /ipam\.ranges\[0\] is an empty range set/);
  invalid(t, { ranges: [[{ subnet: 5 }]] }, /ipam\.ranges\[0\]\[0\]\.subnet: Invalid type/);
  invalid(t, { ranges: [[{ gateway: '10.1.0.1' }]] }, /ipam\.ranges\[0\]\[0\]\.subnet is required/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24' }]], routes: [{ dst: 'default' }] }, /ipam\.routes\[0\]\.dst "default" is not a destination in CIDR notation/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24' }]], routes: [{ dst: '0.0.0.0/0', gw: 'x' }] }, /ipam\.routes\[0\]\.gw "x" is not an IP address/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24' }]] }, /network name "a\/b" has invalid characters/, { name: 'a/b' });
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24' }]], dataDir: '' }, /dataDir must not be empty/);
});

test('overlapping ranges are refused, within a set and across sets', (t) => {
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: '10.1.0.0/25' }]] }, /ipam\.ranges\[0\]\[0\] \(10\.1\.0\.1-10\.1\.0\.254\) and ipam\.ranges\[0\]\[1\] \(10\.1\.0\.1-10\.1\.0\.126\) overlap/);
  invalid(t, { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.1.0.0/16' }]] }, /ipam\.ranges\[0\]\[0\] .* and ipam\.ranges\[1\]\[0\] .* overlap/);
  invalid(t, { subnet: '10.1.0.0/24', ranges: [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.200' }]] }, /ipam \(10\.1\.0\.1-10\.1\.0\.254\) and ipam\.ranges\[0\]\[0\]/);
  // Disjoint ranges of one subnet, and the same numbers in different families, are fine.
  t.notThrows(() => summary({ ranges: [[{ subnet: '10.1.0.0/24', rangeEnd: '10.1.0.99' }, { subnet: '10.1.0.0/24', rangeStart: '10.1.0.100' }]] }));
  t.notThrows(() => summary({ ranges: [[{ subnet: '0.0.0.0/24' }], [{ subnet: '::/120' }]] }));
});

test('routes keep the spec fields that are set', (t) => {
  const cfg = loadIpamConfig(netConf({ ranges: [[{ subnet: '10.1.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.0.5', mtu: 1400, junk: 1 }] }));
  t.deepEqual(cfg.routes, [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.0.5', mtu: 1400 }]);
});

test('requested addresses come from runtimeConfig.ips, args.cni.ips and CNI_ARGS IP, deduplicated', (t) => {
  const conf = netConf({ ranges: [[{ subnet: '10.1.0.0/24' }]] }, { runtimeConfig: { ips: ['10.1.0.7/24'] }, args: { cni: { ips: ['10.1.0.8', '10.1.0.7'] } } });
  const got = requestedAddresses(conf, new Map([['IP', '10.1.0.9, fd00::9']])).map(formatAddr);
  t.deepEqual(got, ['10.1.0.7', '10.1.0.8', '10.1.0.9', 'fd00::9']);
  t.deepEqual(requestedAddresses(netConf({}), new Map()), []);
  const err = t.throws(() => requestedAddresses(conf, new Map([['IP', '10.1.0']])), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.InvalidNetworkConfig);
  t.regex(err?.message ?? '', /CNI_ARGS IP: "10\.1\.0" is not an IP address/);
});
