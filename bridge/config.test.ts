import test from 'ava';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs } from '../cni/skel.js';
import type { NetConf } from '../cni/types.js';
import { parseBridgeConfig } from './config.js';

const args = (cniArgs: Record<string, string> = {}): CmdArgs => ({
  command: 'ADD',
  containerId: 'c1',
  netns: '/run/netns/x',
  ifname: 'eth0',
  args: new Map(Object.entries(cniArgs)),
  path: [],
});
const conf = (extra: Record<string, unknown> = {}): NetConf => ({ cniVersion: '1.0.0', name: 'n', type: 'bridge', ...extra });
const code = (t: any, fn: () => unknown) => (t.throws(fn, { instanceOf: CniError }) as CniError).code;

test('reference defaults', (t) => {
  const c = parseBridgeConfig(conf(), args());
  t.is(c.bridge, 'cni0');
  t.false(c.isGateway);
  t.false(c.ipMasq);
  t.is(c.mtu, 0);
  t.true(c.icc);
  t.deepEqual(c.portMappings, []);
});

test('isDefaultGateway implies isGateway', (t) => {
  t.true(parseBridgeConfig(conf({ isDefaultGateway: true }), args()).isGateway);
});

test('unknown keys pass through, behaviour-changing reference keys ctnet lacks are code 2', (t) => {
  t.notThrows(() => parseBridgeConfig(conf({ someVendorKey: { a: 1 } }), args()));
  for (const key of ['vlanTrunk', 'macspoofchk', 'ipMasqBackend']) {
    const value = key === 'vlanTrunk' ? [{ id: 5 }] : key === 'ipMasqBackend' ? 'nftables' : true;
    t.is(code(t, () => parseBridgeConfig(conf({ [key]: value }), args())), ErrorCode.UnsupportedField, key);
  }
  t.notThrows(() => parseBridgeConfig(conf({ macspoofchk: false }), args()));
});

test('bad values are code 7 naming the key', (t) => {
  for (const [key, value] of [['mtu', 'big'], ['mtu', 1.5], ['isGateway', 'yes'], ['vlan', 5000], ['bridge', 'x'.repeat(16)], ['bridge', 'a b']] as const) {
    const e = t.throws(() => parseBridgeConfig(conf({ [key]: value }), args()), { instanceOf: CniError }) as CniError;
    t.is(e.code, key === 'bridge' ? ErrorCode.InvalidEnvironment : ErrorCode.InvalidNetworkConfig, key);
    t.regex(e.message, key === 'bridge' ? /bridge name/ : new RegExp(key));
  }
});

test('MAC comes from runtimeConfig, then args.cni, then CNI_ARGS', (t) => {
  t.is(parseBridgeConfig(conf({ runtimeConfig: { mac: '02:00:00:00:00:01' }, args: { cni: { mac: '02:00:00:00:00:02' } } }), args({ MAC: '02:00:00:00:00:03' })).mac, '02:00:00:00:00:01');
  t.is(parseBridgeConfig(conf({ args: { cni: { mac: '02:00:00:00:00:02' } } }), args({ MAC: '02:00:00:00:00:03' })).mac, '02:00:00:00:00:02');
  t.is(parseBridgeConfig(conf(), args({ MAC: '02:AA:00:00:00:03' })).mac, '02:aa:00:00:00:03');
  t.is(code(t, () => parseBridgeConfig(conf(), args({ MAC: 'zz' }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(t, () => parseBridgeConfig(conf(), args({ MAC: '01:00:5e:00:00:01' }))), ErrorCode.InvalidNetworkConfig);
});

test('port mappings are validated and normalized', (t) => {
  const c = parseBridgeConfig(conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }, { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' }] } }), args());
  t.deepEqual(c.portMappings, [
    { hostPort: 8080, hostPortEnd: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' },
    { hostPort: 53, hostPortEnd: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
  ]);
  for (const bad of [{ hostPort: 0, containerPort: 80 }, { hostPort: 80, containerPort: 70000 }, { hostPort: 80, containerPort: 80, protocol: 'icmp' }, { hostPort: 80, containerPort: 80, hostIP: 'localhost' }]) {
    t.is(code(t, () => parseBridgeConfig(conf({ runtimeConfig: { portMappings: [bad] } }), args())), ErrorCode.InvalidNetworkConfig, JSON.stringify(bad));
  }
});

test('internal networks refuse published ports; vlan with a gateway is refused', (t) => {
  t.is(code(t, () => parseBridgeConfig(conf({ internal: true, runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1 }] } }), args())), ErrorCode.InvalidNetworkConfig);
  t.is(code(t, () => parseBridgeConfig(conf({ vlan: 10, isGateway: true }), args())), ErrorCode.InvalidNetworkConfig);
});
