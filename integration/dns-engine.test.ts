// Name resolution on user networks through the engine (issue 10's "done means"): `ctnet run`
// starts the responder for the first container on a user network and stops it after the last,
// containers find each other by name, alias and short id, other networks and the default bridge
// do not, other names go to the upstream (a stand-in DNS server in a test namespace), and the
// per-container files and flags take effect inside the container only.
import test from 'ava';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliSandbox, echoServer, sendLine } from './engine-cli-harness.js';

// A stand-in upstream: external.example -> 203.0.113.7, anything else NXDOMAIN.
const UPSTREAM = `
const dgram = require('dgram'); const packet = require('dns-packet');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => {
  let q; try { q = packet.decode(m); } catch { return; }
  const name = q.questions[0]?.name;
  const hit = name === 'external.example' && q.questions[0].type === 'A';
  s.send(packet.encode({ id: q.id, type: 'response', flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (hit ? 0 : 3), questions: q.questions,
    answers: hit ? [{ name, type: 'A', ttl: 5, data: '203.0.113.7' }] : [] }), r.port, r.address);
});
s.bind(53, '0.0.0.0');`;

// Asks the container's resolv.conf nameservers (Node's c-ares reads it): the addresses, or the error code (ENOTFOUND = NXDOMAIN).
const RESOLVE = `require('dns').promises[process.argv[1]](process.argv[2]).then((a) => console.log(a.join(' ')), (e) => console.log(e.code))`;
const resolve = (type: 'resolve4' | 'resolve6', name: string) => [process.execPath, '-e', RESOLVE, type, name];

async function setup(t: any) {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-dns-engine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'daemon.json');
  writeFileSync(config, JSON.stringify({ dns: ['198.51.100.2'] }));
  const c = await cliSandbox(t, { configFile: config });
  const out = await c.sb.outside();
  c.sb.spawn(process.execPath, ['-e', UPSTREAM], out.path);
  await c.sb.waitForPort(53, out.path, { udp: true });
  return c;
}

test('user network: names, aliases and short ids resolve (A and AAAA) and connect over TCP; other networks get NXDOMAIN; bridge forwards only', async (t) => {
  const c = await setup(t);
  await c.ok(['network', 'create', '--ipv6', '--subnet', '10.88.0.0/24', '--subnet', 'fd88::/64', 'app']);
  await c.ok(['network', 'create', 'other']);
  const dbId = (await c.ok(['run', '-d', '--name', 'db', '--network', 'app', '--network-alias', 'database', '--', ...echoServer(7000)])).trim();
  await c.ok(['run', '-d', '--name', 'web', '--network', 'app', '--', 'sleep', '300']);
  await c.ok(['run', '-d', '--name', 'stranger', '--network', 'other', '--', 'sleep', '300']);
  await c.ok(['run', '-d', '--name', 'plain', '--', 'sleep', '300']);
  const db = JSON.parse(await c.ok(['inspect', 'db']))[0].NetworkSettings.Networks.app;

  t.regex(await c.ok(['exec', 'web', '--', 'cat', '/etc/resolv.conf']), /^nameserver 10\.88\.0\.1$/m);
  t.is((await c.execUntil('web', resolve('resolve4', 'db'))).trim(), db.IPAddress);
  t.is((await c.ok(['exec', 'web', '--', ...resolve('resolve4', 'database')])).trim(), db.IPAddress);
  t.is((await c.ok(['exec', 'web', '--', ...resolve('resolve4', dbId.slice(0, 12))])).trim(), db.IPAddress);
  t.is((await c.ok(['exec', 'web', '--', ...resolve('resolve6', 'db')])).trim(), db.GlobalIPv6Address);
  t.is((await c.ok(['exec', 'web', '--', ...resolve('resolve4', 'external.example')])).trim(), '203.0.113.7', 'other names go upstream');
  t.is((await c.execUntil('web', sendLine(7000, 'db'), { input: 'by name\n' })).trim(), 'by name');

  t.is((await c.ok(['exec', 'stranger', '--', ...resolve('resolve4', 'db')])).trim(), 'ENOTFOUND', 'another network does not learn the names');
  t.regex(await c.ok(['exec', 'plain', '--', 'cat', '/etc/resolv.conf']), /^nameserver 198\.51\.100\.2$/m);
  t.is((await c.ok(['exec', 'plain', '--', ...resolve('resolve4', 'db')])).trim(), 'ENOTFOUND', 'no names on the default bridge');
  t.is((await c.ok(['exec', 'plain', '--', ...resolve('resolve4', 'external.example')])).trim(), '203.0.113.7');

  // Garbage and oversized packets at the responder do not stop it.
  for (const junk of ['garbage', 'x'.repeat(5000)]) await c.sb.exec('socat', ['-u', '-', 'UDP:10.88.0.1:53'], c.sb.hostPath, { input: junk });
  t.is((await c.ok(['exec', 'web', '--', ...resolve('resolve4', 'db')])).trim(), db.IPAddress);
});

test('rm: the name stops resolving within a second; after the last container the responder is gone with its state', async (t) => {
  const c = await setup(t);
  await c.ok(['network', 'create', 'app']);
  await c.ok(['run', '-d', '--name', 'db', '--network', 'app', '--', 'sleep', '300']);
  await c.ok(['run', '-d', '--name', 'web', '--network', 'app', '--', 'sleep', '300']);
  const pid = Number(readFileSync(join(c.root, 'dns', 'responder.pid'), 'utf8').split('\n')[0]);
  t.true(existsSync(`/proc/${pid}`));
  await c.execUntil('web', resolve('resolve4', 'db'));

  await c.ok(['rm', '-f', 'db']);
  // The first query asked a second after rm already gets NXDOMAIN (a query's own cost, a Node start
  // in the container, is kept out of the measured second).
  await new Promise((r) => setTimeout(r, 1000));
  t.is((await c.ok(['exec', 'web', '--', ...resolve('resolve4', 'db')])).trim(), 'ENOTFOUND');

  await c.ok(['rm', '-f', 'web']);
  // Its parent is gone, so it may linger as a zombie until reaped: exited either way.
  const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] : 'gone';
  t.true(state === 'gone' || state === 'Z', `the responder exited (state ${state})`);
  t.false(existsSync(join(c.root, 'dns')), 'nothing of it remains');
  t.is((await c.sb.exec('ss', ['-Hlun', 'sport = :53'])).stdout.trim(), '');
});

test('--add-host, --dns, --dns-search, --dns-option and --hostname take effect inside the container only', async (t) => {
  const c = await setup(t);
  const hostsBefore = readFileSync('/etc/hosts', 'utf8');
  const resolvBefore = readFileSync('/etc/resolv.conf', 'utf8');
  await c.ok([
    'run', '-d', '--name', 'box', '--hostname', 'boxhost', '--add-host', 'db.internal:10.9.9.9', '--dns', '198.51.100.2',
    '--dns-search', 'corp.example', '--dns-option', 'ndots:3', '--', 'sleep', '300',
  ]);
  t.is((await c.ok(['exec', 'box', '--', 'hostname'])).trim(), 'boxhost');
  t.is((await c.ok(['exec', 'box', '--', 'cat', '/etc/hostname'])).trim(), 'boxhost');
  t.is((await c.ok(['exec', 'box', '--', 'getent', 'hosts', 'db.internal'])).trim(), '10.9.9.9        db.internal');
  const resolv = await c.ok(['exec', 'box', '--', 'cat', '/etc/resolv.conf']);
  t.regex(resolv, /^nameserver 198\.51\.100\.2$/m);
  t.regex(resolv, /^search corp\.example$/m);
  t.regex(resolv, /^options ndots:3$/m);
  t.is((await c.ok(['exec', 'box', '--', ...resolve('resolve4', 'external.example')])).trim(), '203.0.113.7');
  // Nowhere else: the host's files and hostname, and another container's.
  t.is(readFileSync('/etc/hosts', 'utf8'), hostsBefore);
  t.is(readFileSync('/etc/resolv.conf', 'utf8'), resolvBefore);
  t.not(hostname(), 'boxhost');
  await c.ok(['run', '-d', '--name', 'other', '--', 'sleep', '300']);
  t.notRegex(await c.ok(['exec', 'other', '--', 'cat', '/etc/hosts']), /db\.internal/);
  t.notRegex(await c.ok(['exec', 'other', '--', 'hostname']), /boxhost/);
});
