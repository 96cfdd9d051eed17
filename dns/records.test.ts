import test from 'ava';
import { NetworkRecords, normalizeName, validateRecords } from './records.js';

test('normalizeName lower-cases ASCII only and drops one trailing dot', (t) => {
  t.is(normalizeName('Web.Example.'), 'web.example');
  t.is(normalizeName('web'), 'web');
  t.is(normalizeName('ÄB'), 'Äb'); // DNS case-folding is ASCII (RFC 4343)
});

test('records get defaults, canonical addresses and parsed dnsServers', (t) => {
  const [r] = validateRecords([{ id: 'x1', name: 'web', ipv6: ['FD00:0:0::02'], dnsServers: ['10.0.0.53', '[fd00::53]:5353'] }]);
  t.deepEqual(r, {
    id: 'x1',
    name: 'web',
    aliases: [],
    ipv4: [],
    ipv6: ['fd00::2'],
    dnsServers: [
      { address: '10.0.0.53', port: 53 },
      { address: 'fd00::53', port: 5353 },
    ],
  });
});

test('invalid records are refused with the offending path', (t) => {
  const bad = (input: unknown) => t.throws(() => validateRecords(input))?.message ?? '';
  t.regex(bad([{ id: 'x', name: 'web', ipv4: ['fd00::1'] }]), /0\.ipv4\.0 is not an IPv4 address/);
  t.regex(bad([{ id: 'x', name: 'web', ipv6: ['10.0.0.1'] }]), /is not an IPv6 address/);
  t.regex(bad([{ id: 'x', name: 'we b' }]), /0\.name is not a DNS-usable name/);
  t.regex(bad([{ id: '', name: 'web' }]), /0\.id must not be empty/);
  t.regex(bad([{ id: 'x', name: 'web', dnsServers: ['nope'] }]), /invalid DNS server "nope"/);
  t.regex(bad({}), /invalid records/);
});

test('the index finds by name, alias and short id, and maps addresses back to their first holder', (t) => {
  const records = new NetworkRecords(
    validateRecords([
      { id: '0123456789abcdef', name: 'Web', aliases: ['www', 'WEB'], ipv4: ['10.0.0.2'] },
      { id: 'not-hex-id', name: 'db', ipv4: ['10.0.0.2', '10.0.0.3'] },
    ]),
  );
  t.deepEqual(records.find('web').map((c) => c.name), ['Web']); // listed once although both name and alias
  t.deepEqual(records.find('www').map((c) => c.name), ['Web']);
  t.deepEqual(records.find('0123456789ab').map((c) => c.name), ['Web']);
  t.deepEqual(records.find('not-hex-id'), []); // no short id for a non-hex id
  t.is(records.at('10.0.0.2')?.name, 'Web');
  t.is(records.at('10.0.0.3')?.name, 'db');
  t.is(records.at('10.0.0.4'), undefined);
});
