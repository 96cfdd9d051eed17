import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatServer, hostResolvConf, isLoopback, parseServer, usableNameservers } from './upstreams.js';

test('server addresses with and without ports, IPv4 and IPv6', (t) => {
  t.deepEqual(parseServer('10.0.0.53'), { address: '10.0.0.53', port: 53 });
  t.deepEqual(parseServer('10.0.0.53:5353'), { address: '10.0.0.53', port: 5353 });
  t.deepEqual(parseServer('FD00::0053'), { address: 'fd00::53', port: 53 });
  t.deepEqual(parseServer('[fd00::53]:5353'), { address: 'fd00::53', port: 5353 });
  t.deepEqual(parseServer('[fd00::53]'), { address: 'fd00::53', port: 53 });
  t.is(formatServer(parseServer('[fd00::53]:5353')), '[fd00::53]:5353');
  t.is(formatServer(parseServer('10.0.0.53')), '10.0.0.53:53');
  for (const bad of ['', 'dns.example', '10.0.0.53:0', '10.0.0.53:70000', 'fe80::1%eth0', '[fd00::53]:x']) {
    t.throws(() => parseServer(bad), { message: /invalid DNS server/ }, bad);
  }
});

test('loopback resolvers are skipped: they would be the container’s own loopback', (t) => {
  t.true(isLoopback('127.0.0.53'));
  t.true(isLoopback('::1'));
  t.false(isLoopback('10.0.0.1'));
  t.deepEqual(usableNameservers({ nameservers: ['127.0.0.53', '10.0.0.53', '::1', 'fe80::1%eth0', 'fd00::53'] }), {
    servers: [
      { address: '10.0.0.53', port: 53 },
      { address: 'fd00::53', port: 53 },
    ],
    skipped: ['127.0.0.53', '::1', 'fe80::1%eth0'],
  });
});

test("a host with only systemd-resolved's stub reads the real upstreams from systemd's list", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-dns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const main = join(dir, 'resolv.conf');
  const systemd = join(dir, 'systemd-resolv.conf');
  writeFileSync(main, 'nameserver 127.0.0.53\nsearch corp.example\n');
  t.deepEqual(hostResolvConf({ main, systemd }), { dns: { nameservers: ['127.0.0.53'], search: ['corp.example'] }, path: main });
  writeFileSync(systemd, 'nameserver 10.0.0.53\nsearch corp.example\n');
  t.deepEqual(hostResolvConf({ main, systemd }), { dns: { nameservers: ['10.0.0.53'], search: ['corp.example'] }, path: systemd });
  writeFileSync(main, 'nameserver 10.1.1.1\n');
  t.is(hostResolvConf({ main, systemd }).path, main);
  t.deepEqual(hostResolvConf({ main: join(dir, 'missing'), systemd }).dns, {});
});
