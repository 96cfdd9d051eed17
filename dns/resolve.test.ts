import test from 'ava';
import type { Question } from 'dns-packet';
import { parseCidr } from '../ip/address.js';
import { RCODE } from './message.js';
import { type ContainerRecordInput, NetworkRecords, validateRecords } from './records.js';
import { type NetworkView, type Resolution, resolveQuestion } from './resolve.js';
import { reverseName } from './reverse.js';

const WEB_ID = 'A1B2C3D4E5F6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2';

const network = (name: string, containers: ContainerRecordInput[], extra: Partial<NetworkView> = {}): NetworkView => ({
  name,
  records: new NetworkRecords(validateRecords(containers)),
  ...extra,
});

const app = network('app', [
  { id: WEB_ID, name: 'web', aliases: ['www', 'lb'], ipv4: ['10.89.0.2'], ipv6: ['fd89::2'] },
  { id: 'b'.repeat(64), name: 'db', aliases: ['lb'], ipv4: ['10.89.0.3'] },
  { id: 'c'.repeat(64), name: 'v6only', ipv6: ['fd89:0:0:0::4'] },
]);
const other = network('other', [{ id: 'd'.repeat(64), name: 'cache', ipv4: ['10.90.0.2'] }], { domain: 'dns.ctnet', subnets: [parseCidr('10.90.0.0/24')!] });

const ask = (name: string, type: Question['type'] = 'A', scope: NetworkView[] = [app], cls: Question['class'] = 'IN'): Resolution =>
  resolveQuestion({ name, type, class: cls }, scope, { ttl: 60 });

const data = (r: Resolution) => (r.kind === 'local' ? r.answers.map((a) => ('data' in a ? a.data : undefined)).sort() : r.kind);

test('a container name resolves to its addresses, by family', (t) => {
  t.deepEqual(data(ask('web')), ['10.89.0.2']);
  t.deepEqual(data(ask('web', 'AAAA')), ['fd89::2']);
  const r = ask('web');
  t.like(r, { kind: 'local', rcode: RCODE.NOERROR });
  if (r.kind === 'local') t.like(r.answers[0], { type: 'A', name: 'web', ttl: 60, class: 'IN' });
});

test('names match case-insensitively, with or without a trailing dot, and the answer keeps the asked spelling', (t) => {
  for (const name of ['WEB', 'Web.', 'wWw', 'web.']) t.deepEqual(data(ask(name)), ['10.89.0.2'], name);
  const r = ask('WeB');
  if (r.kind === 'local') t.is(r.answers[0]?.name, 'WeB');
});

test('aliases resolve, and a shared alias gives every holder', (t) => {
  t.deepEqual(data(ask('www')), ['10.89.0.2']);
  t.deepEqual(data(ask('lb')), ['10.89.0.2', '10.89.0.3']);
});

test('the short id (first 12 hex digits, any case) resolves; other prefixes do not', (t) => {
  t.deepEqual(data(ask('a1b2c3d4e5f6')), ['10.89.0.2']);
  t.deepEqual(data(ask('A1B2C3D4E5F6')), ['10.89.0.2']);
  t.like(ask('a1b2c3d4e5f'), { kind: 'local', rcode: RCODE.NXDOMAIN });
});

test('a known name without an address of the asked type is an empty NOERROR, never NXDOMAIN', (t) => {
  t.deepEqual(ask('db', 'AAAA'), { kind: 'local', rcode: RCODE.NOERROR, answers: [] });
  t.deepEqual(ask('v6only', 'A'), { kind: 'local', rcode: RCODE.NOERROR, answers: [] });
  t.deepEqual(data(ask('v6only', 'AAAA')), ['fd89::4']);
  t.deepEqual(ask('web', 'MX'), { kind: 'local', rcode: RCODE.NOERROR, answers: [] });
  t.deepEqual(data(ask('web', 'ANY' as Question['type'])), ['10.89.0.2', 'fd89::2']);
});

test('unknown single-label names are NXDOMAIN; dotted names are forwarded', (t) => {
  t.deepEqual(ask('nosuch'), { kind: 'local', rcode: RCODE.NXDOMAIN, answers: [] });
  t.deepEqual(ask('example.com'), { kind: 'forward' });
  t.deepEqual(ask('web.example.com'), { kind: 'forward' });
  t.deepEqual(ask(''), { kind: 'forward' }); // the root
});

test('a network only answers for its own containers', (t) => {
  t.like(ask('cache'), { kind: 'local', rcode: RCODE.NXDOMAIN });
  t.deepEqual(data(ask('cache', 'A', [other])), ['10.90.0.2']);
  t.like(ask('web', 'A', [other]), { kind: 'local', rcode: RCODE.NXDOMAIN });
  // A container on both networks sees both.
  t.deepEqual(data(ask('cache', 'A', [app, other])), ['10.90.0.2']);
  t.deepEqual(data(ask('web', 'A', [app, other])), ['10.89.0.2']);
});

test("names under the network's domain resolve, and unknown ones there are NXDOMAIN without forwarding", (t) => {
  t.deepEqual(data(ask('cache.dns.ctnet', 'A', [other])), ['10.90.0.2']);
  t.deepEqual(data(ask('CACHE.DNS.CTNET.', 'A', [other])), ['10.90.0.2']);
  t.deepEqual(ask('nosuch.dns.ctnet', 'A', [other]), { kind: 'local', rcode: RCODE.NXDOMAIN, answers: [] });
  // The domain itself exists (NXDOMAIN would deny every name under it, RFC 8020).
  t.deepEqual(ask('dns.ctnet', 'A', [other]), { kind: 'local', rcode: RCODE.NOERROR, answers: [] });
  // Without the network in scope, the domain is nobody's: forwarded.
  t.deepEqual(ask('cache.dns.ctnet', 'A', [app]), { kind: 'forward' });
});

test('PTR answers the container name (with the domain when the network has one), for IPv4 and IPv6', (t) => {
  const ptr = (address: string, scope = [app, other]) => {
    const r = resolveQuestion({ name: reverseName(address), type: 'PTR', class: 'IN' }, scope, { ttl: 60 });
    return r.kind === 'local' ? { rcode: r.rcode, data: r.answers.map((a) => ('data' in a ? a.data : undefined)) } : r.kind;
  };
  t.deepEqual(ptr('10.89.0.2'), { rcode: RCODE.NOERROR, data: ['web'] });
  t.deepEqual(ptr('fd89::2'), { rcode: RCODE.NOERROR, data: ['web'] });
  t.deepEqual(ptr('fd89::4'), { rcode: RCODE.NOERROR, data: ['v6only'] });
  t.deepEqual(ptr('10.90.0.2'), { rcode: RCODE.NOERROR, data: ['cache.dns.ctnet'] });
  // Outside the asker's networks: not ours to tell.
  t.is(ptr('10.90.0.2', [app]), 'forward');
  // In a network's subnet but nobody's: NXDOMAIN here, not a question for the internet.
  t.deepEqual(ptr('10.90.0.77'), { rcode: RCODE.NXDOMAIN, data: [] });
  t.is(ptr('192.0.2.1'), 'forward');
  // A partial reverse name (a zone) goes upstream.
  t.like(resolveQuestion({ name: '89.10.in-addr.arpa', type: 'PTR' }, [app], { ttl: 60 }), { kind: 'forward' });
});

test('classes other than IN are forwarded untouched', (t) => {
  t.deepEqual(ask('web', 'A', [app], 'CH'), { kind: 'forward' });
});

test('the order hook sees the addresses (round robin over a shared alias)', (t) => {
  const r = resolveQuestion({ name: 'lb', type: 'A' }, [app], { ttl: 5, order: <T>(xs: T[]) => [...xs].reverse() });
  t.deepEqual(r.kind === 'local' ? r.answers.map((a) => ('data' in a ? a.data : '')) : [], ['10.89.0.3', '10.89.0.2']);
});
