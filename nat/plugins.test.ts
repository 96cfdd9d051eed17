// The chained plugins' config parsing and their reading of prevResult: no kernel involved.
import test from 'ava';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { NetConf, Result } from '../cni/types.js';
import { containerAddresses, firstPerFamily, hostInterface } from './cni-input.js';
import { validAttachments } from '../cni/gc.js';
import { parseFirewallConfig } from './firewall-plugin.js';
import { parsePortmapConfig } from './portmap-plugin.js';

const conf = (extra: Record<string, unknown> = {}): NetConf => ({ cniVersion: '1.0.0', name: 'n1', type: 'portmap', ...extra });
/** The CniError code fn throws, or 0 when it does not throw. */
function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    return (e as CniError).code;
  }
  return 0;
}

test('portmap defaults: the reference plugin\'s (snat on, bit 13 by default in the layout), plus forward accepts', (t) => {
  const c = parsePortmapConfig(conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }));
  t.like(c, { snat: true, masqAll: false, forwardAccept: true });
  t.is(c.markMasqBit, undefined);
  t.deepEqual(c.mappings, [{ protocol: 'tcp', hostIP: '', hostPort: 8080, hostPortEnd: 8080, containerPort: 80 }]);
  t.deepEqual(parsePortmapConfig(conf()).mappings, []);
});

test('portmap: bad keys and mappings are code 7, an nftables backend code 2', (t) => {
  t.is(code(() => parsePortmapConfig(conf({ snat: 'yes' }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(() => parsePortmapConfig(conf({ markMasqBit: 40 }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(() => parsePortmapConfig(conf({ markMasqBit: 3, externalSetMarkChain: 'X' }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(() => parsePortmapConfig(conf({ externalSetMarkChain: '-j ACCEPT' }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(() => parsePortmapConfig(conf({ conditionsV4: '-s 10.0.0.0/8' }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(() => parsePortmapConfig(conf({ conditionsV4: ['-j', 'DROP'] }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(() => parsePortmapConfig(conf({ backend: 'nftables' }))), ErrorCode.UnsupportedField);
  t.is(parsePortmapConfig(conf({ backend: '' })).backend, '', 'Podman writes an empty backend');
  t.is(code(() => parsePortmapConfig(conf({ runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }] } }))), ErrorCode.InvalidNetworkConfig);
  const e = t.throws(() => parsePortmapConfig(conf({ runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'icmp' }] } })));
  t.is(e?.message, 'portmap: runtimeConfig.portMappings[0] has an unsupported protocol "icmp" (tcp, udp or sctp)');
  t.deepEqual(parsePortmapConfig(conf({ conditionsV4: null, conditionsV6: ['-s', 'fd00::/8'], backend: 'iptables' })).conditionsV6, ['-s', 'fd00::/8']);
  t.is(parsePortmapConfig(conf({ conditionsV4: null })).conditionsV4, undefined);
});

test('firewall: reference keys, ingressPolicy open, same-bridge or isolated', (t) => {
  t.like(parseFirewallConfig(conf({ type: 'firewall' })), { iptablesAdminChainName: 'CNI-ADMIN', ingressPolicy: 'open' });
  t.like(parseFirewallConfig(conf({ type: 'firewall', ingressPolicy: 'same-bridge', iptablesAdminChainName: 'X', firewalldZone: 'trusted' })), { ingressPolicy: 'same-bridge', iptablesAdminChainName: 'X' });
  t.like(parseFirewallConfig(conf({ type: 'firewall', ingressPolicy: 'isolated' })), { ingressPolicy: 'isolated' });
  t.is(code(() => parseFirewallConfig(conf({ type: 'firewall', ingressPolicy: 'closed' }))), ErrorCode.InvalidNetworkConfig);
  t.is(code(() => parseFirewallConfig(conf({ type: 'firewall', backend: 'firewalld' }))), ErrorCode.UnsupportedField);
  t.is(parseFirewallConfig(conf({ type: 'firewall', backend: '' })).backend, '', 'Podman writes an empty backend');
  t.is(code(() => parseFirewallConfig(conf({ type: 'firewall', iptablesAdminChainName: 'has space' }))), ErrorCode.InvalidNetworkConfig);
});

const bridgeResult: Result = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'cni0' }, { name: 'veth1234' }, { name: 'eth0', sandbox: '/run/netns/c' }, { name: 'net1', sandbox: '/run/netns/c' }],
  ips: [
    { address: '10.88.0.5/24', interface: 2 },
    { address: 'fd88::5/64', interface: 2 },
    { address: '10.99.0.5/24', interface: 3 },
    { address: '10.77.0.5/24' },
    { address: '10.88.0.6/24', interface: 2 },
  ],
};

test('prevResult: the addresses of CNI_IFNAME (or without an index), the first per family, the host interface', (t) => {
  t.deepEqual(containerAddresses(bridgeResult, 'eth0'), ['10.88.0.5/24', 'fd88::5/64', '10.77.0.5/24', '10.88.0.6/24']);
  t.deepEqual(firstPerFamily(containerAddresses(bridgeResult, 'eth0')), ['10.88.0.5/24', 'fd88::5/64']);
  t.deepEqual(containerAddresses(bridgeResult, 'net1'), ['10.99.0.5/24', '10.77.0.5/24']);
  t.is(hostInterface(bridgeResult), 'cni0');
  t.is(hostInterface({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: '/x' }, { name: 'vethab' }] }), 'vethab');
  t.is(hostInterface({ cniVersion: '1.1.0' }), undefined);
});

test('GC input: the spec\'s top-level key, or runtimeConfig; none means touch nothing', (t) => {
  const list = [{ containerID: 'a', ifname: 'eth0' }];
  t.deepEqual(validAttachments(conf({ 'cni.dev/valid-attachments': list })), list);
  t.deepEqual(validAttachments(conf({ runtimeConfig: { 'cni.dev/valid-attachments': list } })), list);
  t.deepEqual(validAttachments(conf({ runtimeConfig: { 'cni.dev/attachments': [] } })), []);
  t.is(validAttachments(conf()), undefined);
  t.throws(() => validAttachments(conf({ 'cni.dev/valid-attachments': [{ id: 'a' }] })), { instanceOf: CniError, message: /must be a list of \{"containerID", "ifname"\} objects/ });
});
