import test from 'ava';
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

test('this process itself may be served; another uid, or an unknown pid, may not', (t) => {
  const own = identity('self');
  const request = parseRequest(payload(...good.slice(0, 5), '0'));
  const uid = process.geteuid!();
  t.is(refusal({ ...request, node: process.execPath }, { pid: process.pid, uid }, own), undefined);
  t.regex(refusal(request, { pid: process.pid, uid: uid + 1 }, own)!, /^uid \d+ is not this server's/);
  t.regex(refusal(request, { pid: 0, uid }, own)!, /pid is not visible/);
  t.regex(refusal(request, { pid: 2 ** 22 + 1, uid }, own)!, /cannot inspect the peer/);
});
