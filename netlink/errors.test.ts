import test from 'ava';
import { isNetlinkError, NetlinkError, toNetlinkError } from './errors.js';

test('kernel errnos become named errors that say what failed', (t) => {
  const e = NetlinkError.fromErrno(-17, 'create bridge cni0');
  t.deepEqual([e.code, e.errno, e.message], ['EEXIST', 17, 'create bridge cni0: EEXIST (File exists)']);
  t.is(NetlinkError.fromErrno(95, 'set hairpin').code, 'EOPNOTSUPP', 'the name the kernel and iproute2 use for 95, not ENOTSUP');
  t.is(NetlinkError.fromErrno(4000, 'x').code, 'E4000', 'an errno node does not know keeps its number');
  t.true(isNetlinkError(e, 'EEXIST'));
  t.false(isNetlinkError(e, 'ENOENT'));
});

test('errors ctnet detects itself carry the errno of their name', (t) => {
  const e = NetlinkError.of('ETIMEDOUT', 'dump links', 'no answer from the kernel');
  t.deepEqual([e.code, e.errno, e.message], ['ETIMEDOUT', 110, 'dump links: ETIMEDOUT (no answer from the kernel)']);
  t.is(toNetlinkError(Object.assign(new Error('send failed'), { errno: -1 }), 'send').code, 'EPERM');
  t.is(toNetlinkError(new Error('Timeout has been reached'), 'get link').code, 'ETIMEDOUT');
});
