import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsStatePaths, parseRecordsFile, parseResponderFile, removeRecordsFile, writeRecordsFile, writeResponderFile } from './state-files.js';

const tempState = (t: { teardown: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-dns-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

test('the files live under <stateDir>/dns, and a network name never becomes a path', (t) => {
  const p = dnsStatePaths('/var/lib/ctnet');
  t.like(p, { dir: '/var/lib/ctnet/dns', config: '/var/lib/ctnet/dns/responder.json', pidFile: '/var/lib/ctnet/dns/responder.pid' });
  t.is(p.records('app_net.1'), '/var/lib/ctnet/dns/records/app_net.1.json');
  for (const bad of ['../x', '', '.', '..', 'a/b']) t.throws(() => p.records(bad), { message: /invalid network name/ }, bad);
});

test('writers validate, write whole files atomically, and read back', (t) => {
  const state = tempState(t);
  const p = dnsStatePaths(state);
  writeResponderFile(state, { port: 5353, networks: [{ name: 'app', listen: ['10.89.0.1'], domain: 'dns.ctnet', subnets: ['10.89.0.0/24'] }] });
  t.deepEqual(parseResponderFile(readFileSync(p.config, 'utf8')), {
    version: 1,
    port: 5353,
    networks: [{ name: 'app', listen: ['10.89.0.1'], domain: 'dns.ctnet', subnets: ['10.89.0.0/24'] }],
  });
  writeRecordsFile(state, 'app', [{ id: 'abc', name: 'web', ipv4: ['10.89.0.2'] }]);
  t.deepEqual(parseRecordsFile(readFileSync(p.records('app'), 'utf8')), [{ id: 'abc', name: 'web', aliases: [], ipv4: ['10.89.0.2'], ipv6: [], dnsServers: [] }]);
  t.throws(() => writeRecordsFile(state, 'app', [{ id: 'abc', name: 'web', ipv4: ['nope'] }]), { message: /is not an IPv4 address/ });
  // The bad write left the good file and no temporary file behind.
  t.is(parseRecordsFile(readFileSync(p.records('app'), 'utf8')).length, 1);
  t.deepEqual(readdirSync(p.recordsDir), ['app.json']);
  removeRecordsFile(state, 'app');
  removeRecordsFile(state, 'app');
  t.deepEqual(readdirSync(p.recordsDir), []);
});

test('malformed files are refused with what is wrong', (t) => {
  t.throws(() => parseResponderFile('{'), { message: /responder config is not JSON/ });
  t.throws(() => parseResponderFile('{"version":2,"networks":[]}'), { message: /invalid responder config: version/ });
  t.throws(() => parseResponderFile('{"version":1,"networks":[{"name":"../x","listen":[]}]}'), { message: /networks\.0\.name is not a network name/ });
  t.throws(() => parseResponderFile('{"version":1,"networks":[],"limits":{"maxPending":0}}'), { message: /limits\.maxPending/ });
  t.throws(() => parseResponderFile('{"version":1,"networks":[],"limits":{"nope":1}}'), { message: /limits/ });
  t.throws(() => parseRecordsFile('{"version":1}'), { message: /invalid records file: containers/ });
  t.throws(() => parseRecordsFile('[]'), { message: /invalid records file/ });
});
