// The request flow dockerd drives, against a recording fake of the kernel seam and a real state
// directory and IPAM store in a temp dir: response shapes, state, and what reaches the kernel.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connectivity, PortBinding } from './connectivity.js';
import { createDriver, dispatch } from './driver.js';
import type { Kernel } from './kernel.js';
import { restore } from './network.js';
import { serve } from './server.js';
import { StateStore } from './state.js';

const NET = 'a'.repeat(64);
const EP = 'b'.repeat(64);

function fakeKernel() {
  const calls: string[] = [];
  const kernel: Kernel = {
    async setUpNetwork(net) {
      calls.push(`setUpNetwork ${net.settings.bridge}`);
      return { createdBridge: true };
    },
    async tearDownNetwork(net) {
      calls.push(`tearDownNetwork ${net.settings.bridge} created=${net.createdBridge}`);
    },
    async attach(net, ep) {
      calls.push(`attach ${ep.id.slice(0, 4)} to ${net.settings.bridge} mac ${ep.mac}`);
      return { hostVeth: 'vethhost', srcName: 'vethsand' };
    },
    async detach(ep) {
      calls.push(`detach ${ep.id.slice(0, 4)}`);
    },
    async hostRoutes() {
      return ['172.18.0.0/16'];
    },
    async sweep() {
      return [];
    },
  };
  return { kernel, calls };
}

/** A connectivity that records what it is asked and binds every mapping to hostPort, or 40000 for "any". */
function recordingConnectivity() {
  const calls: string[] = [];
  const short = (id: string) => id.slice(0, 4);
  const connectivity: Connectivity = {
    async setUpNetwork(n) {
      calls.push(`setUpNetwork ${n.bridge} masq=${n.ipMasq}`);
    },
    async tearDownNetwork(n) {
      calls.push(`tearDownNetwork ${n.bridge}`);
    },
    async setUpEndpoint(n, ep) {
      calls.push(`setUpEndpoint ${short(ep.endpointId)} ${ep.ips.join(',')} on ${ep.bridge} icc=${n.icc} internal=${n.internal}`);
    },
    async tearDownEndpoint(ep) {
      calls.push(`tearDownEndpoint ${short(ep.endpointId)}`);
    },
    async setUpExternal(ep, mappings, published) {
      const taken = published.map((b) => b.HostPort).join(',');
      calls.push(`setUpExternal ${ep.ips.join(',')} ${mappings.map((m) => `${m.hostIp || '*'}:${m.hostPort}->${m.containerPort}/${m.protocol}`).join(',')}${taken ? ` taken ${taken}` : ''}`);
      return mappings.map((m): PortBinding => ({ Proto: 6, IP: m.containerIp, Port: m.containerPort, HostIP: m.hostIp, HostPort: m.hostPort || 40000, HostPortEnd: m.hostPort || 40000 }));
    },
    async tearDownExternal(ep) {
      calls.push(`tearDownExternal ${short(ep.endpointId)}`);
    },
    async collect(n, live) {
      calls.push(`collect ${n.bridge} joined=${live.joined.map(short).join(',')} publishing=${live.publishing.map(short).join(',')}`);
    },
  };
  return { connectivity, calls };
}

async function setup(t: import('ava').ExecutionContext, connectivity: Connectivity = recordingConnectivity().connectivity) {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-docker-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const state = new StateStore(join(dir, 'state'));
  await state.open();
  t.teardown(() => state.close());
  const { kernel, calls } = fakeKernel();
  const logs: string[] = [];
  const deps = { state, kernel, connectivity, log: (m: string) => logs.push(m), random: (n: number) => Buffer.alloc(n, 0xab) };
  const driver = createDriver(deps);
  const call = (method: string, body: unknown = {}) => dispatch(driver, method, body) as Promise<any>;
  return { dir, state, calls, logs, driver, call, deps };
}

test('activation and capabilities', async (t) => {
  const { call } = await setup(t);
  t.deepEqual(await call('Plugin.Activate'), { Implements: ['NetworkDriver', 'IpamDriver'] });
  t.deepEqual(await call('NetworkDriver.GetCapabilities'), { Scope: 'local', ConnectivityScope: 'local' });
  t.deepEqual(await call('IpamDriver.GetCapabilities'), { RequiresMACAddress: false, RequiresRequestReplay: false });
  t.deepEqual(await call('IpamDriver.GetDefaultAddressSpaces'), { LocalDefaultAddressSpace: 'ctnet-local', GlobalDefaultAddressSpace: 'ctnet-global' });
  t.deepEqual(await call('NetworkDriver.DiscoverNew', { DiscoveryType: 1, DiscoveryData: null }), {});
  t.deepEqual(await call('NetworkDriver.DiscoverDelete', {}), {});
  const err = await t.throwsAsync(call('NetworkDriver.AllocateNetwork'));
  t.like(err, { status: 404 });
});

test('IPAM: pools, the gateway, next free and specific addresses, releases', async (t) => {
  const { call, dir } = await setup(t);
  const pool = await call('IpamDriver.RequestPool', { AddressSpace: 'ctnet-local', Pool: '10.1.2.0/24', SubPool: '', Options: null, V6: false });
  t.deepEqual(pool, { PoolID: 'ctnet-local/10.1.2.0/24', Pool: '10.1.2.0/24', Data: {} });
  const req = (Address = '', Options: Record<string, string> | null = null) => call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address, Options });
  t.deepEqual(await req('', { RequestAddressType: 'com.docker.network.gateway' }), { Address: '10.1.2.1/24', Data: {} });
  t.deepEqual(await req(), { Address: '10.1.2.2/24', Data: {} });
  t.deepEqual(await req('10.1.2.50'), { Address: '10.1.2.50/24', Data: {} });
  t.deepEqual(await req(), { Address: '10.1.2.3/24', Data: {} });
  await t.throwsAsync(req('10.1.2.50'), { message: 'address 10.1.2.50 is already in use in the pool 10.1.2.0/24' });
  await t.throwsAsync(req('10.1.3.1'), { message: 'address 10.1.3.1 is not in the pool 10.1.2.0/24' });
  await t.throwsAsync(req('10.1.2.255'), { message: /outside the range 10\.1\.2\.1-10\.1\.2\.254/ });
  await t.throwsAsync(call('IpamDriver.RequestAddress', { PoolID: 'nope', Address: '' }), { message: /unknown address pool "nope"/ });

  t.deepEqual(await call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: '10.1.2.50' }), {});
  t.deepEqual(await req('10.1.2.50'), { Address: '10.1.2.50/24', Data: {} }, 'released addresses can be taken again');
  t.deepEqual(await call('IpamDriver.ReleaseAddress', { PoolID: 'gone', Address: '10.1.2.50' }), {}, 'releasing into a released pool is fine');

  await t.throwsAsync(call('IpamDriver.RequestPool', { AddressSpace: 'ctnet-local', Pool: '10.1.0.0/16' }), { message: /overlaps 10\.1\.2\.0\/24/ });
  t.deepEqual(await call('IpamDriver.RequestPool', { AddressSpace: 'ctnet-local', Pool: '', V6: false }), { PoolID: 'ctnet-local/172.19.0.0/16', Pool: '172.19.0.0/16', Data: {} }, 'host routes are avoided');
  const v6 = await call('IpamDriver.RequestPool', { AddressSpace: 'ctnet-local', Pool: '', V6: true });
  t.regex(v6.Pool, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);

  const ipamDir = join(dir, 'state', 'ipam');
  t.true(readdirSync(ipamDir).includes('ctnet-local_10.1.2.0_24'));
  t.deepEqual(await call('IpamDriver.ReleasePool', { PoolID: pool.PoolID }), {});
  t.false(readdirSync(ipamDir).includes('ctnet-local_10.1.2.0_24'), 'the pool\'s reservations go with it');
  t.deepEqual(await call('IpamDriver.ReleasePool', { PoolID: pool.PoolID }), {}, 'twice is fine');
});

test('IPAM: an ip-range bounds automatic addresses, not requested ones', async (t) => {
  const { call } = await setup(t);
  const { PoolID } = await call('IpamDriver.RequestPool', { AddressSpace: '', Pool: '10.5.0.0/24', SubPool: '10.5.0.128/25' });
  t.is((await call('IpamDriver.RequestAddress', { PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } })).Address, '10.5.0.1/24');
  t.is((await call('IpamDriver.RequestAddress', { PoolID, Address: '' })).Address, '10.5.0.128/24');
  t.is((await call('IpamDriver.RequestAddress', { PoolID, Address: '10.5.0.7' })).Address, '10.5.0.7/24');
});

test('network lifecycle: create, endpoint, join, leave, delete', async (t) => {
  const { call, calls, state } = await setup(t);
  const create = {
    NetworkID: NET,
    Options: { 'com.docker.network.generic': {}, 'com.docker.network.enable_ipv6': false },
    IPv4Data: [{ AddressSpace: 'ctnet-local', Pool: '10.1.2.0/24', Gateway: '10.1.2.1/24', AuxAddresses: null }],
    IPv6Data: [],
  };
  t.deepEqual(await call('NetworkDriver.CreateNetwork', create), {});
  const bridge = `ct-${NET.slice(0, 12)}`;

  // dockerd gave no MAC: the driver generates Docker's 02:42:<IPv4> and says so, nothing else.
  t.deepEqual(await call('NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: '10.1.2.5/24', AddressIPv6: '', MacAddress: '' }, Options: {} }), {
    Interface: { MacAddress: '02:42:0a:01:02:05' },
  });
  t.deepEqual(await call('NetworkDriver.EndpointOperInfo', { NetworkID: NET, EndpointID: EP }), { Value: {} });
  t.deepEqual(await call('NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/x', Options: {} }), {
    InterfaceName: { SrcName: 'vethsand', DstPrefix: 'eth' },
    Gateway: '10.1.2.1',
    StaticRoutes: [],
    DisableGatewayService: false,
  });
  t.like((await state.read()).endpoints[EP], { hostVeth: 'vethhost', srcName: 'vethsand', sandboxKey: '/var/run/docker/netns/x', mac: '02:42:0a:01:02:05' });
  t.deepEqual(await call('NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 80 }] } }), {}, 'nothing to publish');
  t.deepEqual(await call('NetworkDriver.RevokeExternalConnectivity', { NetworkID: NET, EndpointID: EP }), {});
  t.deepEqual(await call('NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP }), {});
  t.deepEqual(await call('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP }), {});
  t.deepEqual(await call('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP }), {}, 'twice is fine');
  t.deepEqual(await call('NetworkDriver.DeleteNetwork', { NetworkID: NET }), {});
  t.deepEqual(await call('NetworkDriver.DeleteNetwork', { NetworkID: NET }), {}, 'twice is fine');
  t.deepEqual(calls, [
    `setUpNetwork ${bridge}`,
    `attach bbbb to ${bridge} mac 02:42:0a:01:02:05`,
    'detach bbbb',
    'detach bbbb',
    `tearDownNetwork ${bridge} created=true`,
  ]);
  const s = await state.read();
  t.deepEqual([s.networks, s.endpoints], [{}, {}]);
});

test('endpoints: a MAC from dockerd is not echoed back; internal networks get no gateway; unknown ids are clear errors', async (t) => {
  const { call, state } = await setup(t);
  await call('NetworkDriver.CreateNetwork', {
    NetworkID: NET,
    Options: { 'com.docker.network.internal': true, 'com.docker.network.enable_ipv6': true },
    IPv4Data: [{ Pool: '10.1.2.0/24', Gateway: '10.1.2.1/24' }],
    IPv6Data: [{ Pool: 'fd00:1::/64', Gateway: 'fd00:1::1/64' }],
  });
  t.deepEqual(await call('NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: '10.1.2.5/24', AddressIPv6: 'fd00:1::5/64', MacAddress: '02:00:00:00:00:07' } }), { Interface: {} });
  const joined = await call('NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/x' });
  t.is(joined.Gateway, undefined);
  t.is(joined.GatewayIPv6, undefined);
  t.is((await state.read()).endpoints[EP]?.mac, '02:00:00:00:00:07');

  await t.throwsAsync(call('NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: 'c'.repeat(64), Interface: { Address: '10.9.9.9/24' } }), { message: /Address 10\.9\.9\.9\/24 is not in a subnet of network aaaaaaaaaaaa/ });
  await t.throwsAsync(call('NetworkDriver.CreateEndpoint', { NetworkID: 'f'.repeat(64), EndpointID: EP, Interface: {} }), { message: /network ffffffffffff is not known to this plugin/ });
  await t.throwsAsync(call('NetworkDriver.Join', { NetworkID: NET, EndpointID: 'd'.repeat(64) }), { message: /endpoint dddddddddddd of network aaaaaaaaaaaa is not known/ });
  await t.throwsAsync(call('NetworkDriver.CreateNetwork', { NetworkID: 'e'.repeat(64), Options: { 'com.docker.network.generic': { 'com.docker.network.bridge.name': `ct-${NET.slice(0, 12)}` } } }), {
    message: /bridge ct-aaaaaaaaaaaa already belongs to network aaaaaaaaaaaa/,
  });
  // v6-only endpoint on a dual-stack network: a random locally administered MAC.
  const r = await call('NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: 'c'.repeat(64), Interface: { AddressIPv6: 'fd00:1::9/64' } });
  t.is(r.Interface.MacAddress, '02:ab:ab:ab:ab:ab');
});

test('state survives a new process: a second store on the directory is refused while the first holds it', async (t) => {
  const { call, state, dir } = await setup(t);
  await call('NetworkDriver.CreateNetwork', { NetworkID: NET, Options: {}, IPv4Data: [{ Pool: '10.1.2.0/24', Gateway: '10.1.2.1/24' }] });
  const second = new StateStore(join(dir, 'state'));
  await t.throwsAsync(second.open(100), { message: /another ctnet Docker plugin is using the state directory/ });
  state.close();
  await second.open(100);
  t.teardown(() => second.close());
  t.deepEqual(Object.keys((await second.read()).networks), [NET]);
});

test('a failing handler leaves the state file as it was', async (t) => {
  const { state } = await setup(t);
  await state.update((s) => {
    s.ula = 'fd00::/48';
  });
  await t.throwsAsync(
    state.update((s) => {
      s.ula = 'fd11::/48';
      throw new Error('half-way');
    }),
  );
  t.is((await state.read()).ula, 'fd00::/48');
});

test('over HTTP on a unix socket: JSON replies, 404 for unknown methods, 400 for bad bodies, Err/Error on failures', async (t) => {
  const { driver, dir } = await setup(t);
  const socketPath = join(dir, 'p.sock');
  const server = await serve({ socketPath, driver, log: () => {} });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const post = (path: string, body: string) =>
    new Promise<{ status: number; type: string | undefined; json: any }>((resolve, reject) => {
      const req = httpRequest({ socketPath, path, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  t.deepEqual(await post('/Plugin.Activate', ''), { status: 200, type: 'application/vnd.docker.plugins.v1.2+json', json: { Implements: ['NetworkDriver', 'IpamDriver'] } });
  t.like(await post('/NetworkDriver.Nope', '{}'), { status: 404, json: { Err: 'NetworkDriver.Nope is not implemented by the ctnet plugin' } });
  t.like(await post('/IpamDriver.RequestPool', '{not json'), { status: 400 });
  const failed = await post('/IpamDriver.RequestAddress', JSON.stringify({ PoolID: 'nope', Address: '' }));
  t.is(failed.status, 200);
  t.regex(failed.json.Err, /unknown address pool/);
  t.is(failed.json.Error, failed.json.Err);

  // A second server on a live socket is refused; a dead one's socket is taken over.
  await t.throwsAsync(serve({ socketPath, driver, log: () => {} }), { message: /another process already serves/ });
  await new Promise<void>((r) => server.close(() => r()));
  t.false(existsSync(socketPath), 'closing removes the socket');
});

test('firewall rules and published ports go through the connectivity seam, are reported, re-applied on restart and removed', async (t) => {
  const rec = recordingConnectivity();
  const { call, deps } = await setup(t, rec.connectivity);
  await call('NetworkDriver.CreateNetwork', {
    NetworkID: NET,
    Options: { 'com.docker.network.generic': { 'com.docker.network.bridge.host_binding_ipv4': '192.0.2.7' } },
    IPv4Data: [{ Pool: '10.1.2.0/24', Gateway: '10.1.2.1/24' }],
  });
  await call('NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: '10.1.2.5/24' } });
  await call('NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/x' });
  // Another endpoint publishing 9090: its host port is not free for the first.
  const other = 'c'.repeat(64);
  await call('NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: other, Interface: { Address: '10.1.2.6/24' } });
  await call('NetworkDriver.Join', { NetworkID: NET, EndpointID: other, SandboxKey: '/y' });
  await call('NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: other, Options: { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 9090 }] } });
  // An endpoint created but never joined has no rules to keep.
  await call('NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: 'd'.repeat(64), Interface: { Address: '10.1.2.7/24' } });
  const portmap = [
    { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 0 },
    { Proto: 6, IP: '', Port: 443, HostIP: '127.0.0.1', HostPort: 0, HostPortEnd: 0 },
  ];
  t.deepEqual(await call('NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.portmap': portmap } }), {});
  const info = await call('NetworkDriver.EndpointOperInfo', { NetworkID: NET, EndpointID: EP });
  t.deepEqual(info.Value['com.docker.network.portmap'], [
    { Proto: 6, IP: '10.1.2.5', Port: 80, HostIP: '192.0.2.7', HostPort: 8080, HostPortEnd: 8080 },
    { Proto: 6, IP: '10.1.2.5', Port: 443, HostIP: '127.0.0.1', HostPort: 40000, HostPortEnd: 40000 },
  ]);
  t.deepEqual(info.Value['com.docker.network.endpoint.exposedports'], [{ Proto: 6, Port: 80 }, { Proto: 6, Port: 443 }]);

  // A restarted plugin collects the rules of endpoints it no longer knows, then re-applies the
  // others' rules and the same bindings (the chosen host port stays).
  const bridge = `ct-${NET.slice(0, 12)}`;
  const before = rec.calls.length;
  await restore(deps);
  t.deepEqual(rec.calls.slice(before), [
    `setUpNetwork ${bridge} masq=true`,
    `collect ${bridge} joined=bbbb,cccc publishing=bbbb,cccc`,
    `setUpEndpoint bbbb 10.1.2.5/24 on ${bridge} icc=true internal=false`,
    'setUpExternal 10.1.2.5/24 192.0.2.7:8080->80/tcp,127.0.0.1:40000->443/tcp taken 9090',
    `setUpEndpoint cccc 10.1.2.6/24 on ${bridge} icc=true internal=false`,
    'setUpExternal 10.1.2.6/24 192.0.2.7:9090->80/tcp taken 8080,40000',
  ]);

  await call('NetworkDriver.RevokeExternalConnectivity', { NetworkID: NET, EndpointID: EP });
  t.deepEqual((await call('NetworkDriver.EndpointOperInfo', { NetworkID: NET, EndpointID: EP })).Value, {});
  await call('NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP });
  await call('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
  await call('NetworkDriver.DeleteNetwork', { NetworkID: NET });
  t.deepEqual(rec.calls.slice(0, before), [
    `setUpNetwork ${bridge} masq=true`,
    `setUpEndpoint bbbb 10.1.2.5/24 on ${bridge} icc=true internal=false`,
    `setUpEndpoint cccc 10.1.2.6/24 on ${bridge} icc=true internal=false`,
    'setUpExternal 10.1.2.6/24 192.0.2.7:9090->80/tcp',
    'setUpExternal 10.1.2.5/24 192.0.2.7:8080->80/tcp,127.0.0.1:0->443/tcp taken 9090',
  ]);
  t.deepEqual(rec.calls.slice(before + 6), ['tearDownExternal bbbb', 'tearDownEndpoint bbbb', 'tearDownEndpoint bbbb', 'tearDownEndpoint cccc', 'tearDownEndpoint dddd', `tearDownNetwork ${bridge}`]);
  await t.throwsAsync(
    call('NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.portmap': portmap } }),
    { message: /network aaaaaaaaaaaa is not known/ },
  );
});
