// Host-port checks against a real namespace: a listener inside the sandbox's host namespace is
// seen through /proc/<pid>/net of a process in that namespace, and the allocator steps around it.
import test from 'ava';
import { allocateHostPort, boundPorts, pickHostPort, resolveHostPort } from '../engine/host-ports.js';
import { parsePublishSpec } from '../engine/publish-spec.js';
import { Sandbox } from './sandbox.js';

test('a port bound in the namespace is in use; ranges and allocation skip it', async (t) => {
  const sb = await Sandbox.create(t);
  const listener = sb.spawn('socat', ['TCP6-LISTEN:20001,fork,reuseaddr', 'EXEC:cat']);
  await sb.waitForPort(20001);
  const procNet = `/proc/${listener.pid}/net`;
  t.true(boundPorts('tcp', procNet).has(20001));
  t.false(boundPorts('udp', procNet).has(20001));
  t.throws(() => resolveHostPort(parsePublishSpec('20001:80')[0]!, { procNet }), { message: 'Bind for 0.0.0.0:20001 failed: address already in use' });
  t.is(resolveHostPort(parsePublishSpec('20001:80/udp')[0]!, { procNet }), 20001, 'UDP has its own ports');
  t.is(pickHostPort(20001, 20003, { protocol: 'tcp', procNet }), 20002);
  const port = allocateHostPort({ protocol: 'tcp', procNet, published: new Set([20002]) });
  t.true(port >= 1 && port <= 65535 && port !== 20001 && port !== 20002);
});
