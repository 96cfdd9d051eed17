import test from 'ava';
import { CniError, ErrorCode } from '../cni/errors.js';
import { parsePortMap } from './connectivity.js';
import { parseArgs } from './daemon.js';
import { PluginError, errorReply } from './errors.js';
import { defaultBridgeName, parseNetworkSettings, subnetFor } from './options.js';
import { parseRequest, schemas } from './protocol.js';

const ID = '0123456789abcdef'.repeat(4);

const request = (o: Record<string, unknown> = {}, v4: unknown[] = [{ AddressSpace: 'ctnet-local', Pool: '10.1.2.0/24', Gateway: '10.1.2.1/24' }], v6: unknown[] | null = null) =>
  parseRequest('CreateNetwork', schemas.CreateNetwork, { NetworkID: ID, Options: o, IPv4Data: v4, IPv6Data: v6 });

test('a network without options: bridge ct-<id>, Docker bridge defaults', (t) => {
  t.deepEqual(parseNetworkSettings(request({ 'com.docker.network.generic': {}, 'com.docker.network.enable_ipv6': false })), {
    bridge: `ct-${ID.slice(0, 12)}`,
    mtu: undefined,
    icc: true,
    ipMasq: true,
    hostBindingIP: undefined,
    internal: false,
    ipv6: false,
    subnets: [{ subnet: '10.1.2.0/24', gateway: '10.1.2.1/24' }],
  });
  t.is(defaultBridgeName(ID).length, 15, 'fits IFNAMSIZ');
});

test('-o driver options, --internal and --ipv6 as dockerd sends them', (t) => {
  const s = parseNetworkSettings(
    request(
      {
        'com.docker.network.generic': {
          'com.docker.network.bridge.name': 'appbr',
          'com.docker.network.driver.mtu': '1400',
          'com.docker.network.bridge.enable_icc': 'false',
          'com.docker.network.bridge.enable_ip_masquerade': 'FALSE',
          'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
          'some.other.label': 'ignored',
        },
        'com.docker.network.enable_ipv6': true,
        'com.docker.network.internal': true,
      },
      [{ AddressSpace: 'ctnet-local', Pool: '10.1.2.0/24', Gateway: '10.1.2.1/24', AuxAddresses: null }],
      [{ AddressSpace: 'ctnet-local', Pool: 'fd00:1::/64', Gateway: 'fd00:1::1/64' }],
    ),
  );
  t.like(s, { bridge: 'appbr', mtu: 1400, icc: false, ipMasq: false, hostBindingIP: '127.0.0.1', internal: true, ipv6: true });
  t.deepEqual(s.subnets, [
    { subnet: '10.1.2.0/24', gateway: '10.1.2.1/24' },
    { subnet: 'fd00:1::/64', gateway: 'fd00:1::1/64' },
  ]);
  t.is(subnetFor(s.subnets, '10.1.2.77/24')?.subnet, '10.1.2.0/24');
  t.is(subnetFor(s.subnets, 'fd00:1::5')?.subnet, 'fd00:1::/64');
  t.is(subnetFor(s.subnets, '10.9.9.9'), undefined);
});

test('bad options are refused with the reason', (t) => {
  const generic = (o: Record<string, string>) => ({ 'com.docker.network.generic': o });
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [generic({ 'com.docker.network.bridge.name': 'a-very-long-bridge-name' }), /invalid bridge name/],
    [generic({ 'com.docker.network.driver.mtu': 'big' }), /invalid MTU "big"/],
    [generic({ 'com.docker.network.bridge.enable_icc': 'nope' }), /invalid value "nope" for option com\.docker\.network\.bridge\.enable_icc/],
    [generic({ 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' }), /gateway_mode_ipv4 is not supported by ctnet/],
    [{ 'com.docker.network.internal': 'maybe' }, /invalid value "maybe" for com\.docker\.network\.internal/],
  ];
  for (const [options, message] of cases) {
    const err = t.throws(() => parseNetworkSettings(request(options)), { instanceOf: PluginError });
    t.regex(err!.message, message);
    t.is(err!.status, 200, 'a decoded request that cannot be served is an Err reply, not an HTTP error');
  }
  t.throws(() => parseNetworkSettings(request({}, [{ Pool: '10.1.2.0/24', Gateway: '10.9.9.1/24' }])), { message: /gateway "10\.9\.9\.1\/24" is not an address of the pool 10\.1\.2\.0\/24/ });
  t.throws(() => parseNetworkSettings(request({}, [{ Pool: 'fd00::/64' }])), { message: /not an IPv4 subnet/ });
});

test('malformed request bodies are HTTP 400s naming the field', (t) => {
  const err = t.throws(() => parseRequest('Join', schemas.Join, { NetworkID: 'n', EndpointID: 7 }), { instanceOf: PluginError });
  t.is(err!.status, 400);
  t.regex(err!.message, /^Join: malformed request: EndpointID/);
  t.throws(() => parseRequest('CreateNetwork', schemas.CreateNetwork, {}), { message: /NetworkID is required/ });
  // Go's nil maps and slices arrive as null: accepted as empty.
  t.deepEqual(parseRequest('CreateEndpoint', schemas.CreateEndpoint, { NetworkID: 'n', EndpointID: 'e', Interface: null, Options: null }), {
    NetworkID: 'n',
    EndpointID: 'e',
    Interface: { Address: '', AddressIPv6: '', MacAddress: '' },
    Options: {},
  });
});

test('error replies carry the message under both keys libnetwork reads (Err: NetworkDriver, Error: IpamDriver)', (t) => {
  t.deepEqual(errorReply(new PluginError('no')), { status: 200, body: { Err: 'no', Error: 'no' } });
  t.deepEqual(errorReply(new PluginError('bad', 400)), { status: 400, body: { Err: 'bad', Error: 'bad' } });
  t.deepEqual(errorReply(new CniError(ErrorCode.TryAgainLater, 'lock held', 'try again')).body.Err, 'lock held (try again)');
  t.deepEqual(errorReply(new Error('boom')).body, { Err: 'boom', Error: 'boom' });
  t.deepEqual(errorReply('weird').body.Err, 'weird');
});

test('port maps from ProgramExternalConnectivity', (t) => {
  const options = {
    'com.docker.network.portmap': [
      { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 0 },
      { Proto: 17, IP: '10.1.2.9', Port: 53, HostIP: '127.0.0.1', HostPort: 0, HostPortEnd: 0 },
      { Proto: 132, IP: '', Port: 9, HostIP: '', HostPort: 9000, HostPortEnd: 9010 },
    ],
    'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 80 }],
  };
  t.deepEqual(parsePortMap(options, '10.1.2.5', '192.0.2.1'), [
    { protocol: 'tcp', containerIp: '10.1.2.5', containerPort: 80, hostIp: '192.0.2.1', hostPort: 8080, hostPortEnd: 8080 },
    { protocol: 'udp', containerIp: '10.1.2.9', containerPort: 53, hostIp: '127.0.0.1', hostPort: 0, hostPortEnd: 0 },
    { protocol: 'sctp', containerIp: '10.1.2.5', containerPort: 9, hostIp: '192.0.2.1', hostPort: 9000, hostPortEnd: 9010 },
  ]);
  t.deepEqual(parsePortMap({}, '10.1.2.5'), []);
  t.deepEqual(parsePortMap({ 'com.docker.network.portmap': null }, '10.1.2.5'), []);
  t.throws(() => parsePortMap({ 'com.docker.network.portmap': [{ Proto: 1, Port: 80 }] }, '10.1.2.5'), { message: /unsupported protocol 1/ });
  t.throws(() => parsePortMap({ 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 70000 }] }, '10.1.2.5'), { message: /host port 70000/ });
  t.throws(() => parsePortMap({ 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 90, HostPortEnd: 85 }] }, '10.1.2.5'), { message: /reversed/ });
  t.throws(() => parsePortMap({ 'com.docker.network.portmap': [{ Proto: 6, Port: 80 }] }, undefined), { message: /no address/ });
});

test('command line', (t) => {
  t.deepEqual(parseArgs([]), {});
  t.deepEqual(parseArgs(['--name', 'x', '--state-dir=/s', '--socket-dir', '/p']), { name: 'x', stateDir: '/s', socketDir: '/p' });
  t.is(parseArgs(['--help']), 'help');
  t.throws(() => parseArgs(['--nope']), { message: /unknown argument "--nope"/ });
  t.throws(() => parseArgs(['--name']), { message: /--name needs a value/ });
});
