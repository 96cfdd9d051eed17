import test from 'ava';
import { defaultBridgeRequest, parseDaemonConfig } from './daemon-config.js';

test("daemon.json: Docker's keys, validated and normalized", (t) => {
  const text = JSON.stringify({ bip: '10.0.0.1/16', 'fixed-cidr': '10.0.1.7/24', mtu: 1400, dns: ['1.1.1.1'], 'default-address-pools': [{ base: '10.10.0.0/16', size: 24 }], ip: '127.0.0.1', icc: false });
  t.deepEqual(parseDaemonConfig(text), { bip: '10.0.0.1/16', fixedCidr: '10.0.1.0/24', mtu: 1400, dns: ['1.1.1.1'], defaultAddressPools: [{ base: '10.10.0.0/16', size: 24 }], ip: '127.0.0.1', icc: false });
  t.deepEqual(parseDaemonConfig('{}'), {});
});

test('daemon.json: bad values and unknown keys are refused naming them', (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [{ bip: '10.0.0.0/16' }, /invalid bip "10.0.0.0\/16": that is the network address/],
    [{ bip: 'x' }, /invalid bip "x"/],
    [{ mtu: 20 }, /invalid mtu 20/],
    [{ dns: ['nope'] }, /invalid dns/],
    [{ 'default-address-pools': [{ base: '10.0.0.1/8', size: 16 }] }, /host bits set/],
    [{ icc: 'no' }, /invalid icc "no"/],
    [{ 'log-level': 'debug', bogus: 1 }, /unknown keys log-level, bogus/],
  ];
  for (const [raw, message] of bad) t.throws(() => parseDaemonConfig(JSON.stringify(raw), 'daemon.json'), { message }, JSON.stringify(raw));
  t.throws(() => parseDaemonConfig('{', 'x.json'), { message: /^x\.json is not valid JSON/ });
});

test('the default bridge: bip gives subnet and gateway, else the current subnet is kept', (t) => {
  const req = defaultBridgeRequest({ bip: '10.0.0.1/16', fixedCidr: '10.0.1.0/24', icc: false });
  t.deepEqual([req.subnets, req.gateways, req.ipRanges], [['10.0.0.0/16'], ['10.0.0.1'], ['10.0.1.0/24']]);
  t.is(req.options!['com.docker.network.bridge.name'], 'ctnet0');
  t.is(req.options!['com.docker.network.bridge.enable_icc'], 'false');
  t.deepEqual(defaultBridgeRequest({}, ['172.17.0.0/16']).subnets, ['172.17.0.0/16']);
  t.is(defaultBridgeRequest({}).subnets, undefined);
});
