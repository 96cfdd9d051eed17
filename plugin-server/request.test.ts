import test from 'ava';
import { join } from 'node:path';
import { identity, parseRequest, refusal } from './request.js';

const payload = (...fields: string[]) => Buffer.from(fields.map((f) => `${f}\0`).join(''));
const good = ['/usr/bin/node', '/x/dist/start.cjs', '/x/dist/plugins/bridge.cjs', '/tmp', '22', '1', '--flag', 'CNI_COMMAND=ADD', 'EMPTY=', 'A=b=c'];

test('a request: paths, umask (octal), arguments, then the environment', (t) => {
  t.deepEqual(parseRequest(payload(...good)), {
    node: '/usr/bin/node',
    start: '/x/dist/start.cjs',
    bundle: '/x/dist/plugins/bridge.cjs',
    cwd: '/tmp',
    umask: 0o22,
    args: ['--flag'],
    env: { CNI_COMMAND: 'ADD', EMPTY: '', A: 'b=c' },
  });
});

test('malformed requests are refused before anything runs', (t) => {
  t.throws(() => parseRequest(Buffer.from(good.join('\0'))), { message: /NUL/ }, 'not NUL-terminated');
  t.throws(() => parseRequest(payload(...good.slice(0, 5))), { message: /malformed/ }, 'no argc');
  t.throws(() => parseRequest(payload(...good.slice(0, 5), '3', 'a')), { message: /malformed/ }, 'fewer arguments than argc');
  t.throws(() => parseRequest(payload('node', ...good.slice(1))), { message: /malformed/ }, 'a relative path');
  t.throws(() => parseRequest(payload(...good.slice(0, 4), '999', '0')), { message: /malformed/ }, 'not an octal umask');
});

const dist = join(import.meta.dirname, '..', 'dist');
const ours = (env: string[] = []) =>
  parseRequest(payload(process.execPath, join(dist, 'start.cjs'), join(dist, 'plugins', 'bridge.cjs'), '/', '22', '0', 'CNI_COMMAND=ADD', ...env));

test('this process itself may be served a plugin of this checkout; another uid, an unknown pid, other code, or NODE_* settings may not', (t) => {
  const own = identity(dist);
  const uid = process.geteuid!();
  const self = { pid: process.pid, uid };
  t.is(refusal(ours(), self, own), undefined);
  t.is(refusal(ours(['NODE_EXTRA_CA_CERTS=/x', 'NODE_ENV=test', 'NODE_OPTIONS=']), self, own), undefined, 'none node reads at start');
  t.regex(refusal(ours(), { pid: process.pid, uid: uid + 1 }, own)!, /^uid \d+ is not this server's/);
  t.regex(refusal(ours(), { pid: 0, uid }, own)!, /pid is not visible/);
  t.regex(refusal(ours(), { pid: 2 ** 22 + 1, uid }, own)!, /cannot inspect the peer/);
  t.regex(refusal(ours(['NODE_OPTIONS=--require /tmp/x.js']), self, own)!, /^NODE_OPTIONS is set/);
  t.regex(refusal({ ...ours(), start: '/etc/hostname' }, self, own)!, /not a plugin of this checkout's builds/);
  t.regex(refusal({ ...ours(), bundle: join(dist, 'cli.cjs') }, self, own)!, /not a plugin of this checkout's builds/);
  t.regex(refusal({ ...ours(), node: '/bin/true' }, self, own)!, /another node/);
});
