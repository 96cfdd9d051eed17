import test from 'ava';
import { CniError, ErrorCode } from './errors.js';
import type { Result } from './types.js';
import { SUPPORTED_VERSIONS, compareVersions, fromWire, toWire } from './version.js';

const full: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '02:00:00:00:00:01' },
    { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/run/netns/x', socketPath: '/s', pciID: '0000:00:01.0' },
  ],
  ips: [
    { address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 },
    { address: 'fd00::5/64', gateway: 'fd00::1', interface: 1 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, priority: 5 }],
  dns: { nameservers: ['10.1.0.1'] },
};

test('versions compare numerically', (t) => {
  t.true(compareVersions('0.10.0', '0.4.0') > 0);
  t.is(compareVersions('1.1.0', '1.1.0'), 0);
  t.true(compareVersions('0.3.1', '1.0.0') < 0);
  t.true(compareVersions('junk', '0.1.0') < 0);
});

for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
  test(`toWire ${v} tags IP families and drops 1.1 fields`, (t) => {
    const w = toWire(full, v) as any;
    t.is(w.cniVersion, v);
    t.deepEqual(w.ips.map((i: any) => i.version), ['4', '6']);
    t.is(w.interfaces[1].socketPath, undefined);
    t.is(w.routes[0].mtu, undefined);
    t.is(w.routes[0].gw, '10.1.0.1');
  });
}

test('toWire 1.0.0 has no family tags and no 1.1 fields', (t) => {
  const w = toWire(full, '1.0.0') as any;
  t.is(w.ips[0].version, undefined);
  t.is(w.interfaces[1].pciID, undefined);
  t.is(w.routes[0].priority, undefined);
});

test('toWire 1.1.0 keeps everything', (t) => {
  const w = toWire(full, '1.1.0') as any;
  t.is(w.interfaces[1].pciID, '0000:00:01.0');
  t.is(w.routes[0].mtu, 1400);
  t.deepEqual(w.dns, { nameservers: ['10.1.0.1'] });
});

test('toWire refuses an unsupported version with code 1', (t) => {
  const e = t.throws(() => toWire(full, '0.2.0'), { instanceOf: CniError });
  t.is(e?.code, ErrorCode.IncompatibleVersion);
});

test('fromWire round-trips every supported version', (t) => {
  for (const v of SUPPORTED_VERSIONS) {
    const back = fromWire(JSON.parse(JSON.stringify(toWire(full, v))), v);
    t.deepEqual(back.ips, full.ips, v);
    t.is(back.interfaces?.length, 2);
  }
});

test('fromWire rejects malformed results with code 6', (t) => {
  for (const bad of [null, [], 'x', { ips: 'no' }, { ips: [{ gateway: '1.2.3.4' }] }, { ips: [{ address: '10.0.0.1' }] }, { interfaces: [{}] }, { routes: [{}] }, { ips: [{ address: '10.0.0.1/8', interface: -1 }] }]) {
    const e = t.throws(() => fromWire(bad, '1.0.0'), { instanceOf: CniError }, JSON.stringify(bad));
    t.is(e?.code, ErrorCode.DecodingFailure);
  }
});
