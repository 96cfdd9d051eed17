import test from 'ava';
import { parseConfList } from './conflist.js';
import { type BuildContext, type ConfListDocument, buildBridgeNetwork, pairIpamOptions, parseBridgeOptions, validateNetworkName } from './network-config.js';

const ID = 'a'.repeat(12) + 'b'.repeat(52);
const ctx = (extra: Partial<BuildContext> = {}): BuildContext => ({ existing: [], id: ID, created: '2026-11-25T08:00:00.000Z', ...extra });

test('a plain network: next free pool subnet, Docker\'s defaults, one bridge plugin with port mappings', (t) => {
  const existing = [buildBridgeNetwork({ name: 'bridge', builtin: true, options: { 'com.docker.network.bridge.name': 'ctnet0' } }, ctx({ id: 'f'.repeat(64) }))];
  const doc = buildBridgeNetwork({ name: 'web', labels: { team: 'a' } }, ctx({ existing }));
  t.deepEqual(doc, {
    cniVersion: '1.0.0',
    cniVersions: ['1.0.0', '1.1.0'],
    name: 'web',
    plugins: [
      {
        type: 'bridge',
        bridge: 'br-aaaaaaaaaaaa',
        isGateway: true,
        isDefaultGateway: true,
        ipMasq: true,
        hairpinMode: true,
        isolateNetworks: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '172.18.0.0/16', gateway: '172.18.0.1' }]] },
        capabilities: { portMappings: true, ips: true, mac: true },
      },
    ],
    ctnet: {
      id: ID,
      created: '2026-11-25T08:00:00.000Z',
      driver: 'bridge',
      scope: 'local',
      internal: false,
      ipv6: false,
      ipam: [{ subnet: '172.18.0.0/16', gateway: '172.18.0.1' }],
      labels: { team: 'a' },
      options: {},
    },
  });
  t.is(existing[0]!.ctnet.ipam[0]!.subnet, '172.17.0.0/16');
  // A CNI runtime reads it as an ordinary list: the "ctnet" key is ignored.
  const list = parseConfList(JSON.stringify(doc));
  t.is(list.plugins.length, 1);
  t.is(list.cniVersion, '1.1.0', 'a runtime that reads cniVersions runs 1.1.0');
});

test('subnets, gateways, ip-ranges, IPv6 and driver options become the bridge and host-local config', (t) => {
  const doc = buildBridgeNetwork(
    {
      name: 'app',
      subnets: ['10.1.0.0/16', 'fd00:1::/64'],
      gateways: ['fd00:1::fe', '10.1.0.254'],
      ipRanges: ['10.1.2.0/24', 'fd00:1::/120'],
      ipv6: true,
      options: {
        'com.docker.network.bridge.name': 'appbr',
        'com.docker.network.driver.mtu': '1400',
        'com.docker.network.bridge.enable_icc': 'false',
        'com.docker.network.bridge.enable_ip_masquerade': 'FALSE',
        'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
        'my.own.key': 'kept',
      },
    },
    ctx({ defaults: { dns: ['1.1.1.1'], ipamDataDir: '/x/ipam' } }),
  );
  t.deepEqual(doc.plugins[0], {
    type: 'bridge',
    bridge: 'appbr',
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: false,
    hairpinMode: true,
    mtu: 1400,
    icc: false,
    isolateNetworks: true,
    hostBindingIP: '127.0.0.1',
    ipam: {
      type: 'host-local',
      ranges: [
        [{ subnet: '10.1.0.0/16', gateway: '10.1.0.254', rangeStart: '10.1.2.0', rangeEnd: '10.1.2.255' }],
        [{ subnet: 'fd00:1::/64', gateway: 'fd00:1::fe', rangeStart: 'fd00:1::1', rangeEnd: 'fd00:1::ff' }],
      ],
      dataDir: '/x/ipam',
    },
    dns: { nameservers: ['1.1.1.1'] },
    capabilities: { portMappings: true, ips: true, mac: true },
  });
  t.deepEqual(doc.ctnet.ipam, [
    { subnet: '10.1.0.0/16', gateway: '10.1.0.254', ipRange: '10.1.2.0/24' },
    { subnet: 'fd00:1::/64', gateway: 'fd00:1::fe', ipRange: 'fd00:1::/120' },
  ]);
  t.is(doc.ctnet.options['my.own.key'], 'kept');
});

test('an ip-range at the edges of the subnet keeps off the network and broadcast addresses', (t) => {
  const doc = buildBridgeNetwork({ name: 'edge', subnets: ['10.2.0.0/24'], ipRanges: ['10.2.0.0/24'] }, ctx());
  t.like((doc.plugins[0] as any).ipam.ranges[0][0], { rangeStart: '10.2.0.1', rangeEnd: '10.2.0.254' });
});

test('--internal: no default route, no masquerade, the bridge is told', (t) => {
  const plugin: any = buildBridgeNetwork({ name: 'int', internal: true }, ctx()).plugins[0];
  t.like(plugin, { isGateway: true, internal: true, ipMasq: false });
  t.false('isDefaultGateway' in plugin);
});

test('--ipv6 without an IPv6 subnet takes one from a configured IPv6 pool', (t) => {
  const pools = [
    { base: '10.50.0.0/16', size: 24 },
    { base: 'fd99::/48', size: 64 },
  ];
  const first = buildBridgeNetwork({ name: 'v6a', ipv6: true }, ctx({ pools }));
  t.deepEqual(first.ctnet.ipam.map((c) => c.subnet), ['10.50.0.0/24', 'fd99::/64']);
  const second = buildBridgeNetwork({ name: 'v6b', ipv6: true }, ctx({ pools, existing: [first], id: 'c'.repeat(64) }));
  t.deepEqual(second.ctnet.ipam.map((c) => c.subnet), ['10.50.1.0/24', 'fd99:0:0:1::/64']);
  t.throws(() => buildBridgeNetwork({ name: 'v6c', ipv6: true }, ctx()), { message: /no IPv6 address pool is configured/ });
});

test('automatic subnets avoid host routes and the other networks', (t) => {
  const doc = buildBridgeNetwork({ name: 'n' }, ctx({ hostRoutes: ['172.17.0.0/16', '10.0.0.0/8', 'default'] }));
  t.is(doc.ctnet.ipam[0]!.subnet, '172.18.0.0/16');
});

test('conflicts and bad input are refused with clear messages', (t) => {
  const existing: ConfListDocument[] = [buildBridgeNetwork({ name: 'one', subnets: ['10.9.0.0/16'] }, ctx())];
  const cases: Array<[Parameters<typeof buildBridgeNetwork>[0], RegExp]> = [
    [{ name: 'one' }, /^network with name one already exists$/],
    [{ name: 'two', subnets: ['10.9.8.0/24'] }, /^subnet 10\.9\.8\.0\/24 overlaps 10\.9\.0\.0\/16 of network "one"$/],
    [{ name: 'two', subnets: ['10.8.0.0/16'] }, /^bridge br-aaaaaaaaaaaa is already used by network "one"$/],
    [{ name: 'bridge' }, /^bridge is a pre-defined network and cannot be created$/],
    [{ name: 'host' }, /pre-defined/],
    [{ name: 'a b' }, /^invalid network name "a b"/],
    [{ name: 'x', subnets: ['10.1.2.3/16'] }, /host bits set \(did you mean 10\.1\.0\.0\/16\?\)/],
    [{ name: 'x', subnets: ['nonsense'] }, /^invalid subnet "nonsense"/],
    [{ name: 'x', subnets: ['10.1.0.0/16'], gateways: ['10.1.0.0'] }, /^gateway 10\.1\.0\.0 is the network address of 10\.1\.0\.0\/16$/],
    [{ name: 'x', subnets: ['10.1.0.0/24'], gateways: ['10.1.0.255'] }, /broadcast address/],
    [{ name: 'x', subnets: ['fd00::/64'] }, /^an IPv6 --subnet needs --ipv6$/],
    [{ name: 'x', options: { 'com.docker.network.bridge.name': 'a-very-long-bridge-name' } }, /^invalid bridge name/],
    [{ name: 'x', options: { 'com.docker.network.driver.mtu': 'big' } }, /^invalid MTU "big"/],
    [{ name: 'x', options: { 'com.docker.network.bridge.enable_icc': 'nope' } }, /invalid value "nope" for option com\.docker\.network\.bridge\.enable_icc/],
    [{ name: 'x', options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' } }, /driver option com\.docker\.network\.bridge\.gateway_mode_ipv4 is not supported by ctnet/],
  ];
  for (const [req, message] of cases) {
    t.throws(() => buildBridgeNetwork(req, ctx({ existing })), { message }, JSON.stringify(req));
  }
});

test('gateways and ip-ranges pair with the subnet that contains them', (t) => {
  t.deepEqual(pairIpamOptions(['10.1.0.0/16', '10.2.0.0/16'], ['10.2.0.9'], ['10.1.4.0/24']), [
    { subnet: '10.1.0.0/16', ipRange: '10.1.4.0/24' },
    { subnet: '10.2.0.0/16', gateway: '10.2.0.9' },
  ]);
  t.throws(() => pairIpamOptions(['10.1.0.0/16'], ['10.3.0.1']), { message: 'no --subnet contains gateway 10.3.0.1' });
  t.throws(() => pairIpamOptions([], [], ['10.3.0.0/24']), { message: 'no --subnet contains ip-range 10.3.0.0/24' });
  t.throws(() => pairIpamOptions(['10.1.0.0/16'], ['10.1.0.1', '10.1.0.2']), { message: /cannot have two gateways/ });
  t.throws(() => pairIpamOptions(['10.1.0.0/16', '10.1.2.0/24']), { message: 'subnets 10.1.0.0/16 and 10.1.2.0/24 overlap' });
  t.throws(() => pairIpamOptions(['10.1.0.0/16'], [], ['10.0.0.0/8']), { message: 'no --subnet contains ip-range 10.0.0.0/8' });
});

test('bridge options default as Docker\'s do', (t) => {
  t.deepEqual(parseBridgeOptions({}, ID), { bridge: 'br-aaaaaaaaaaaa', ipMasq: true, icc: true });
  t.deepEqual(parseBridgeOptions({}, ID, { mtu: 9000, hostBindingIP: '10.0.0.1' }), { bridge: 'br-aaaaaaaaaaaa', ipMasq: true, icc: true, mtu: 9000, hostBindingIP: '10.0.0.1' });
  t.is(parseBridgeOptions({ 'com.docker.network.bridge.enable_icc': '0' }, ID).icc, false);
});

test('network names', (t) => {
  t.notThrows(() => validateNetworkName('a'));
  t.notThrows(() => validateNetworkName('my_net.v2-x'));
  t.notThrows(() => validateNetworkName('bridge', { builtin: true }));
  t.throws(() => validateNetworkName('-x'), { message: /invalid network name/ });
  t.throws(() => validateNetworkName('x'.repeat(129)), { message: /at most 128/ });
  t.throws(() => validateNetworkName(''), { message: 'a network needs a name' });
});
