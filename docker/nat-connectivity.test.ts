// The wiring of the Docker driver onto nat/: which attachments it asks for, how host ports are
// chosen, and what a restart re-applies, against a recording fake of the firewall backend (the
// rules themselves are nat/'s, and the integration test sees them work).
import test from 'ava';
import { CniError, ErrorCode } from '../cni/errors.js';
import { readEphemeralRange } from '../engine/host-ports.js';
import type { ContainerSpec, FirewallBackend } from '../nat/index.js';
import type { EndpointRef, NetworkRef, PortBinding, PortMapping } from './connectivity.js';
import { natConnectivity } from './nat-connectivity.js';

const NET: NetworkRef = { networkId: 'n'.repeat(64), bridge: 'ct-x', subnets: ['10.1.2.0/24', 'fd00:1::/64'], ipMasq: true, icc: false, internal: false };
const EP: EndpointRef = { networkId: NET.networkId, endpointId: 'e'.repeat(64), bridge: 'ct-x', ips: ['10.1.2.5/24', 'fd00:1::5/64'] };

function fakeBackend(opts: { intact?: boolean; conflicts?: number } = {}) {
  const calls: string[] = [];
  const specs: ContainerSpec[] = [];
  let conflicts = opts.conflicts ?? 0;
  const fw: FirewallBackend = {
    name: 'fake',
    async setupNetwork(n) {
      calls.push(`setupNetwork ${n.network.slice(0, 1)} ${n.bridge} ${n.families?.join(',')}`);
    },
    async teardownNetwork(n) {
      calls.push(`teardownNetwork ${n.network.slice(0, 1)} owner=${n.owner}`);
    },
    async setupContainer(spec) {
      calls.push(`setup ${spec.owner}`);
      specs.push(spec);
      if (conflicts > 0) {
        conflicts--;
        throw new CniError(ErrorCode.PortConflict, `port ${spec.portMappings?.[0]?.hostPort}/tcp is already allocated on 0.0.0.0`);
      }
    },
    async teardownContainer(ref) {
      calls.push(`teardown ${ref.owner} ${ref.containerId.slice(0, 1)} ${ref.ifname}`);
    },
    async checkContainer(spec) {
      calls.push(`check ${spec.owner}`);
      if (!opts.intact) throw new CniError(ErrorCode.CheckFailed, 'no firewall rules are recorded');
    },
    async gc(network, valid, o) {
      calls.push(`gc ${network.slice(0, 1)} owner=${o?.owner} valid=${valid.map((v) => `${v.containerID.slice(0, 1)}/${v.ifname}`).join(',')}`);
    },
  };
  return { fw, calls, specs };
}

const mapping = (m: Partial<PortMapping>): PortMapping => ({ protocol: 'tcp', containerIp: '10.1.2.5', containerPort: 80, hostIp: '', hostPort: 0, hostPortEnd: 0, ...m });
const bound = (HostPort: number, HostIP = ''): PortBinding => ({ Proto: 6, IP: '10.1.2.9', Port: 80, HostIP, HostPort, HostPortEnd: HostPort });

test('a network and a joined endpoint: shared setup, then the endpoint rules Docker\'s bridge driver has; a restart leaves intact rules alone', async (t) => {
  const { fw, calls, specs } = fakeBackend();
  const c = natConnectivity(fw);
  await c.setUpNetwork(NET);
  await c.setUpEndpoint(NET, EP);
  t.deepEqual(calls, [`setupNetwork n ct-x 4,6`, 'check docker', 'setup docker']);
  t.deepEqual(specs[0], {
    network: NET.networkId,
    containerId: EP.endpointId,
    ifname: 'docker',
    owner: 'docker',
    bridge: 'ct-x',
    ips: EP.ips,
    masquerade: true,
    forward: 'all',
    icc: false,
    internal: false,
    isolateNetworks: true,
  });
  await c.setUpEndpoint({ ...NET, internal: true }, EP);
  t.like(specs[1], { masquerade: false, internal: true }, 'an internal network never masquerades');

  const intact = fakeBackend({ intact: true });
  await natConnectivity(intact.fw).setUpEndpoint(NET, EP);
  t.deepEqual(intact.calls, ['check docker'], 'rules in place are not re-installed');
});

test('published ports: given ports checked against other endpoints, 0 chosen from the ephemeral range, bindings reported', async (t) => {
  const { fw, specs } = fakeBackend();
  const c = natConnectivity(fw);
  const range = readEphemeralRange();
  const out = await c.setUpExternal(EP, [mapping({ hostPort: 8080, hostPortEnd: 8080 }), mapping({ protocol: 'udp', containerPort: 53, hostIp: '127.0.0.1' })], [bound(8081)]);
  t.like(out[0], { Proto: 6, IP: '10.1.2.5', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 });
  t.like(out[1], { Proto: 17, Port: 53, HostIP: '127.0.0.1' });
  t.true(out[1]!.HostPort >= range.start && out[1]!.HostPort <= range.end, `${out[1]!.HostPort} is in the ephemeral range`);
  t.is(out[1]!.HostPortEnd, out[1]!.HostPort);
  t.like(specs[0], { owner: 'docker-ports', forward: 'ports', bridge: 'ct-x', ips: EP.ips });
  t.deepEqual(specs[0]!.portMappings, [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' },
    { hostPort: out[1]!.HostPort, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
  ]);

  await t.throwsAsync(c.setUpExternal(EP, [mapping({ hostPort: 8081, hostPortEnd: 8081 })], [bound(8081)]), { message: 'Bind for 0.0.0.0:8081 failed: port is already allocated' });
  // Other addresses of one family share no port space; every address overlaps each.
  t.is((await c.setUpExternal(EP, [mapping({ hostIp: '10.0.0.1', hostPort: 8081, hostPortEnd: 8081 })], [bound(8081, '127.0.0.1')]))[0]!.HostPort, 8081);
  await t.throwsAsync(c.setUpExternal(EP, [mapping({ hostIp: '10.0.0.1', hostPort: 8081, hostPortEnd: 8081 })], [bound(8081, '0.0.0.0')]), { message: /port is already allocated/ });
  // A range gives its first free port.
  t.is((await c.setUpExternal(EP, [mapping({ hostPort: 8081, hostPortEnd: 8085 })], [bound(8081), bound(8082)]))[0]!.HostPort, 8083);
});

test('a chosen port another nat/ user holds is chosen again; a given one is the error', async (t) => {
  const chosen = fakeBackend({ conflicts: 2 });
  const out = await natConnectivity(chosen.fw).setUpExternal(EP, [mapping({})], []);
  const tried = chosen.specs.map((s) => s.portMappings![0]!.hostPort);
  t.is(tried.length, 3);
  t.is(new Set(tried).size, 3, `each attempt takes another port: ${tried.join(', ')}`);
  t.is(out[0]!.HostPort, tried[2]!);

  const given = fakeBackend({ conflicts: 1 });
  const err = await t.throwsAsync(natConnectivity(given.fw).setUpExternal(EP, [mapping({ hostPort: 8080, hostPortEnd: 8080 })], []));
  t.like(err, { code: ErrorCode.PortConflict, message: 'port 8080/tcp is already allocated on 0.0.0.0' });
  t.is(given.specs.length, 1);
});

test('restart, revoke, teardown and GC address both of the endpoint\'s attachments by id', async (t) => {
  const intact = fakeBackend({ intact: true });
  const c = natConnectivity(intact.fw);
  t.deepEqual(await c.setUpExternal(EP, [mapping({ hostPort: 8080, hostPortEnd: 8080 })], [bound(8080, '192.0.2.1')]), [
    { Proto: 6, IP: '10.1.2.5', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
  ]);
  t.deepEqual(intact.calls, ['check docker-ports'], 'bindings in place are kept as they are');

  const { fw, calls } = fakeBackend();
  const d = natConnectivity(fw);
  await d.tearDownExternal(EP);
  await d.tearDownEndpoint(EP);
  await d.collect(NET, { joined: ['a'.repeat(64), 'b'.repeat(64)], publishing: ['b'.repeat(64)] });
  await d.tearDownNetwork(NET);
  t.deepEqual(calls, [
    'teardown docker-ports e docker',
    'teardown docker-ports e docker',
    'teardown docker e docker',
    'gc n owner=docker valid=a/docker,b/docker',
    'gc n owner=docker-ports valid=b/docker',
    'teardownNetwork n owner=undefined',
  ]);
});
