import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocateHostPort, boundPorts, pickHostPort, readEphemeralRange, resolveHostPort } from './host-ports.js';
import { parsePublishSpec } from './publish-spec.js';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
const tcpLine = (port: number, state = '0A') => `   0: 0100007F:${hex(port)} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n`;
const tcp6Line = (port: number) => `   0: 00000000000000000000000001000000:${hex(port)} 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n`;

/** A fake /proc: the range file and a /proc/net with the given tables. */
function fakeProc(t: any, range: string, tables: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-hostports-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'range'), range);
  for (const [name, text] of Object.entries(tables)) {
    mkdirSync(join(dir, 'net', name, '..'), { recursive: true });
    writeFileSync(join(dir, 'net', name), text);
  }
  return { rangePath: join(dir, 'range'), procNet: join(dir, 'net') };
}

test('the ephemeral range is read from the kernel file', (t) => {
  const p = fakeProc(t, '32768\t60999\n', {});
  t.deepEqual(readEphemeralRange(p.rangePath), { start: 32768, end: 60999 });
  writeFileSync(p.rangePath, 'nonsense');
  t.throws(() => readEphemeralRange(p.rangePath), { message: /cannot read the ephemeral port range/ });
});

test('bound ports come from the v4 and v6 tables of the protocol; TIME_WAIT does not count', (t) => {
  const p = fakeProc(t, '1 2', {
    tcp: TCP_HEADER + tcpLine(8080) + tcpLine(9090, '06') + tcpLine(9191, '01'),
    tcp6: TCP_HEADER + tcp6Line(8443),
    udp: TCP_HEADER + tcpLine(5353, '07'),
    'sctp/eps': ' ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\n ffff88810 ffff8881 2   10  5    3868      0 12345 127.0.0.1\n',
  });
  t.deepEqual([...boundPorts('tcp', p.procNet)].sort(), [8080, 8443, 9191]);
  t.deepEqual([...boundPorts('udp', p.procNet)], [5353]);
  t.deepEqual([...boundPorts('sctp', p.procNet)], [3868]);
});

test('allocation skips published and bound ports and wraps around the range', (t) => {
  const p = fakeProc(t, '40000 40004', { tcp: TCP_HEADER + tcpLine(40003) });
  const opts = { ...p, protocol: 'tcp' as const, published: new Set([40004, 40000]) };
  // Starting at the fourth port (40003, bound), then 40004 (published), wraps to 40000 (published), 40001.
  t.is(allocateHostPort({ ...opts, random: () => 0.6 }), 40001);
  t.is(allocateHostPort({ ...opts, random: () => 0.3 }), 40001);
  t.is(allocateHostPort({ ...opts, random: () => 0.999 }), 40001);
  // UDP has its own table: 40003 is free there.
  t.is(allocateHostPort({ ...opts, protocol: 'udp', random: () => 0.6 }), 40003);
});

test('an exhausted range is a clear error', (t) => {
  const p = fakeProc(t, '40000 40001', {});
  t.throws(() => allocateHostPort({ ...p, protocol: 'tcp', published: new Set([40000, 40001]) }), {
    message: 'all ports are allocated: no free tcp port in the ephemeral range 40000-40001',
  });
});

test('a host range gives its first free port', (t) => {
  const p = fakeProc(t, '1 2', { tcp: TCP_HEADER + tcpLine(8081) });
  t.is(pickHostPort(8080, 8085, { ...p, protocol: 'tcp', published: new Set([8080]) }), 8082);
  t.throws(() => pickHostPort(8080, 8081, { ...p, protocol: 'tcp', published: new Set([8080]), hostIP: '127.0.0.1' }), {
    message: /^Bind for 127\.0\.0\.1:8080-8081 failed/,
  });
});

test('resolveHostPort: allocate, pick of a range, or check a given port', (t) => {
  const p = fakeProc(t, '50000 50000', { tcp: TCP_HEADER + tcpLine(9000), tcp6: TCP_HEADER + tcp6Line(9443) });
  const [alloc] = parsePublishSpec('80');
  const [ranged] = parsePublishSpec('9000-9002:80');
  const [given] = parsePublishSpec('8080:80');
  const [taken] = parsePublishSpec('[::1]:9443:443');
  t.is(resolveHostPort(alloc!, p), 50000);
  t.is(resolveHostPort(ranged!, p), 9001);
  t.is(resolveHostPort(given!, p), 8080);
  t.throws(() => resolveHostPort(given!, { ...p, published: new Set([8080]) }), { message: 'Bind for 0.0.0.0:8080 failed: port is already allocated' });
  t.throws(() => resolveHostPort(taken!, p), { message: 'Bind for [::1]:9443 failed: address already in use' });
});

test('the real tables of this namespace parse', (t) => {
  // Read-only: only checks that the live /proc/net format parses into ports.
  for (const proto of ['tcp', 'udp', 'sctp'] as const) {
    for (const port of boundPorts(proto)) t.true(Number.isInteger(port) && port >= 0 && port <= 65535);
  }
  const range = readEphemeralRange();
  t.true(range.start >= 1 && range.end <= 65535 && range.start <= range.end);
});
