import test from 'ava';
import { HOST_GATEWAY, hostnameFile, hostsFile, parseAddHost, resolveHostGateway, validateHostname } from './hosts-file.js';

test('--add-host values: name:ip, name=ip, IPv6 with and without brackets, host-gateway', (t) => {
  t.deepEqual(parseAddHost('db:10.0.0.5'), { name: 'db', address: '10.0.0.5' });
  t.deepEqual(parseAddHost('db=10.0.0.5'), { name: 'db', address: '10.0.0.5' });
  t.deepEqual(parseAddHost('my-host:2001:DB8::0033'), { name: 'my-host', address: '2001:db8::33' });
  t.deepEqual(parseAddHost('my-host=[2001:db8::33]'), { name: 'my-host', address: '2001:db8::33' });
  t.deepEqual(parseAddHost('my-host:[2001:db8::33]'), { name: 'my-host', address: '2001:db8::33' });
  t.deepEqual(parseAddHost('api.internal:host-gateway'), { name: 'api.internal', address: HOST_GATEWAY });
});

test('--add-host errors say what is wrong', (t) => {
  const err = (v: string) => t.throws(() => parseAddHost(v))?.message ?? '';
  t.regex(err('db'), /invalid --add-host "db": expected NAME:ADDRESS/);
  t.regex(err(':10.0.0.5'), /the name is empty/);
  t.regex(err('db:'), /"" is not an IP address or "host-gateway"/);
  t.regex(err('db:10.0.0.256'), /"10.0.0.256" is not an IP address/);
  t.regex(err('db:db.example'), /is not an IP address/);
  t.regex(err('bad name:10.0.0.5'), /"bad name" is not a host name/);
  t.regex(err('-db:10.0.0.5'), /is not a host name/);
});

test('host-gateway becomes one entry per gateway address', (t) => {
  const hosts = [parseAddHost('gw:host-gateway'), parseAddHost('db:10.0.0.5')];
  t.deepEqual(resolveHostGateway(hosts, ['172.18.0.1', 'fd00::1']), [
    { name: 'gw', address: '172.18.0.1' },
    { name: 'gw', address: 'fd00::1' },
    { name: 'db', address: '10.0.0.5' },
  ]);
});

test("/etc/hosts in Docker's order: localhost, --add-host entries, then the container's own addresses", (t) => {
  const text = hostsFile({
    hostname: 'a1b2c3d4e5f6',
    domainname: 'corp.example',
    addresses: ['172.18.0.2', 'fd00::2'],
    aliases: ['web'],
    extraHosts: [parseAddHost('db:10.0.0.5'), parseAddHost('v6:fd00::5')],
  });
  t.is(
    text,
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      '10.0.0.5\tdb',
      'fd00::5\tv6',
      '172.18.0.2\ta1b2c3d4e5f6.corp.example a1b2c3d4e5f6 web',
      'fd00::2\ta1b2c3d4e5f6.corp.example a1b2c3d4e5f6 web',
      '',
    ].join('\n'),
  );
});

test('/etc/hosts without IPv6 or own addresses (--network none), and an unresolved host-gateway is refused', (t) => {
  t.is(hostsFile({ hostname: 'box', addresses: [], ipv6: false }), '127.0.0.1\tlocalhost\n');
  t.is(hostsFile({ hostname: 'web', addresses: ['10.0.0.2'], aliases: ['web'] }).split('\n').at(-2), '10.0.0.2\tweb');
  t.throws(() => hostsFile({ hostname: 'web', addresses: [], extraHosts: [parseAddHost('gw:host-gateway')] }), { message: /must be resolved first/ });
});

test('hostnames: /etc/hostname content and the checks', (t) => {
  t.is(hostnameFile('web-1'), 'web-1\n');
  t.notThrows(() => validateHostname('a.b-c.d_e'));
  t.notThrows(() => validateHostname('x'.repeat(63)));
  t.throws(() => validateHostname(''), { message: /it is empty/ });
  t.throws(() => validateHostname('x'.repeat(65)), { message: /at most 64 characters/ });
  t.throws(() => validateHostname('-web'), { message: /no '-' at either end/ });
  t.throws(() => validateHostname('we b'), { message: /invalid hostname "we b"/ });
  t.throws(() => validateHostname('a..b'), { message: /invalid hostname/ });
  t.throws(() => hostnameFile('bad/name'), { message: /invalid hostname/ });
});
