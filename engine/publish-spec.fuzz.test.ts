// Property tests of the -p grammar: any string yields well-formed mappings or a plain Error with a
// message (never a TypeError, a hang, or a mapping outside the port space), and every spec built
// from valid parts parses back to what it was built from.
import test from 'ava';
import fc from 'fast-check';
import { parsePublishSpec, PROTOCOLS } from './publish-spec.js';

const hostile = fc.oneof(
  fc.string(),
  fc.stringMatching(/^[\d:.\-/[\]a-z]{0,40}$/),
  fc.constantFrom('', ':', '::', '[::1]', '[::1]:', '1:2:3:4', '80-', '-80', '80/', '/tcp', '80/TCP', '0', '65536', '1-65536', '99999999999999999999', '80;rm -rf /', '$(id):80', '127.0.0.1::80', '[fe80::1%eth0]:80:80', 'x'.repeat(10_000)),
);

test('any spec: mappings inside the port space, or an Error with a message', (t) => {
  fc.assert(
    fc.property(hostile, (spec) => {
      let mappings;
      try {
        mappings = parsePublishSpec(spec);
      } catch (err) {
        return err instanceof Error && err.constructor === Error && err.message.length > 0 && !err.message.includes('undefined');
      }
      return (
        mappings.length > 0 &&
        mappings.every(
          (m) =>
            PROTOCOLS.includes(m.protocol) &&
            m.containerPort >= 1 &&
            m.containerPort <= 65535 &&
            m.hostPort >= 0 &&
            m.hostPortEnd >= m.hostPort &&
            m.hostPortEnd <= 65535 &&
            (m.hostPort === 0) === (m.hostPortEnd === 0) &&
            !m.hostIP.includes('['),
        )
      );
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('specs built from valid parts parse back to them', (t) => {
  const port = fc.integer({ min: 1, max: 65535 });
  fc.assert(
    fc.property(port, port, fc.constantFrom('', '127.0.0.1', '::1', '10.1.2.3'), fc.constantFrom('tcp', 'udp', 'sctp'), (host, container, ip, proto) => {
      const address = ip.includes(':') ? `[${ip}]:` : ip ? `${ip}:` : '';
      const [m] = parsePublishSpec(`${address}${host}:${container}/${proto}`);
      return m !== undefined && m.hostIP === ip && m.hostPort === host && m.hostPortEnd === host && m.containerPort === container && m.protocol === proto;
    }),
  );
  t.pass();
});
