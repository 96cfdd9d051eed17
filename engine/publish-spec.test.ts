import test from 'ava';
import fc from 'fast-check';
import { type PortMapping, parsePublishSpec } from './publish-spec.js';

const m = (containerPort: number, hostPort = 0, hostPortEnd = hostPort, hostIP = '', protocol: PortMapping['protocol'] = 'tcp'): PortMapping => ({
  hostIP,
  hostPort,
  hostPortEnd,
  containerPort,
  protocol,
});

const range = (from: number, to: number, f: (i: number) => PortMapping) => Array.from({ length: to - from + 1 }, (_, i) => f(i));

const valid: Array<[string, PortMapping[]]> = [
  ['80', [m(80)]],
  ['8080:80', [m(80, 8080)]],
  ['127.0.0.1:8080:80', [m(80, 8080, 8080, '127.0.0.1')]],
  ['127.0.0.1::80', [m(80, 0, 0, '127.0.0.1')]],
  ['[::1]:8080:80', [m(80, 8080, 8080, '::1')]],
  ['[::1]::80', [m(80, 0, 0, '::1')]],
  ['::1:8080:80', [m(80, 8080, 8080, '::1')]],
  ['[2001:db8::1]:53:53/udp', [m(53, 53, 53, '2001:db8::1', 'udp')]],
  ['[10.0.0.1]:80:80', [m(80, 80, 80, '10.0.0.1')]],
  ['8080-8090:80-90', range(80, 90, (i) => m(80 + i, 8080 + i))],
  ['80-90', range(80, 90, (i) => m(80 + i))],
  ['0.0.0.0:7000-7001:7000-7001/udp', range(7000, 7001, (i) => m(7000 + i, 7000 + i, 7000 + i, '0.0.0.0', 'udp'))],
  ['8080-8085:80', [m(80, 8080, 8085)]],
  ['127.0.0.1:8080-8085:80/sctp', [m(80, 8080, 8085, '127.0.0.1', 'sctp')]],
  ['8080-8080:80', [m(80, 8080)]],
  ['80/tcp', [m(80)]],
  ['80/udp', [m(80, 0, 0, '', 'udp')]],
  ['80/sctp', [m(80, 0, 0, '', 'sctp')]],
  ['80/UDP', [m(80, 0, 0, '', 'udp')]],
  ['80/', [m(80)]],
  [':80', [m(80)]],
  ['::80', [m(80)]],
  ['0:80', [m(80)]],
  ['0080:080', [m(80, 80)]],
  ['65535:1', [m(1, 65535)]],
  ['1-65535', range(1, 65535, (i) => m(1 + i))],
];

for (const [spec, expected] of valid) {
  test(`-p ${spec}`, (t) => {
    t.deepEqual(parsePublishSpec(spec), expected);
  });
}

const invalid: Array<[string, string]> = [
  ['', 'no port specified: <empty>'],
  ['8080:', 'no port specified: 8080:<empty>'],
  ['127.0.0.1:8080:', 'no port specified: 127.0.0.1:8080:<empty>'],
  ['/tcp', 'no port specified: /tcp<empty>'],
  ['80/foo', 'invalid proto: foo'],
  ['80/tcp/udp', 'invalid proto: tcp/udp'],
  ['80/TCPX', 'invalid proto: tcpx'],
  ['abc', 'invalid containerPort: abc'],
  ['8080:abc', 'invalid containerPort: abc'],
  ['0', 'invalid containerPort: 0'],
  ['0-5', 'invalid containerPort: 0-5'],
  ['65536', 'invalid containerPort: 65536'],
  ['99999999999999999999', 'invalid containerPort: 99999999999999999999'],
  ['-80', 'invalid containerPort: -80'],
  ['80-', 'invalid containerPort: 80-'],
  ['90-80', 'invalid containerPort: 90-80'],
  ['80-90-100', 'invalid containerPort: 80-90-100'],
  ['+80', 'invalid containerPort: +80'],
  [' 80', 'invalid containerPort:  80'],
  ['x:80', 'invalid hostPort: x'],
  ['65536:80', 'invalid hostPort: 65536'],
  ['0-10:80', 'invalid hostPort: 0-10'],
  ['8090-8080:80', 'invalid hostPort: 8090-8080'],
  ['8080/tcp:80', 'invalid hostPort: 8080/tcp'],
  ['8080-8085:80-90', 'invalid ranges specified for container and host Ports: 80-90 and 8080-8085'],
  ['8080:80-90', 'invalid ranges specified for container and host Ports: 80-90 and 8080'],
  ['1.2.3:8080:80', 'invalid IP address: 1.2.3'],
  ['localhost:8080:80', 'invalid IP address: localhost'],
  ['[::1:8080:80', "invalid IP address [::1: missing ']' in address"],
  ['[::1]x:8080:80', "invalid IP address [::1]x: unexpected characters after ']'"],
  ['[fe80::1%eth0]:8080:80', 'invalid IP address: fe80::1%eth0'],
  ['1.2.3.04:8080:80', 'invalid IP address: 1.2.3.04'],
];

for (const [spec, message] of invalid) {
  test(`-p ${JSON.stringify(spec)} is refused`, (t) => {
    t.throws(() => parsePublishSpec(spec), { instanceOf: Error, message });
  });
}

test('an explicit host range of the same length maps one to one', (t) => {
  const out = parsePublishSpec('127.0.0.1:9000-9002:9000-9002/udp');
  t.deepEqual(
    out.map((p) => [p.hostPort, p.hostPortEnd, p.containerPort]),
    [
      [9000, 9000, 9000],
      [9001, 9001, 9001],
      [9002, 9002, 9002],
    ],
  );
});

const portText = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', '0', 'x', '-', '65535', '1'));
const rangeText = fc.oneof(portText, fc.tuple(portText, portText).map(([a, b]) => `${a}-${b}`));
const ipText = fc.oneof(fc.constant(''), fc.ipV4(), fc.ipV6().map((ip) => `[${ip}]`), fc.ipV6(), fc.string({ maxLength: 8 }));
const specs = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc
    .tuple(ipText, rangeText, rangeText, fc.constantFrom('', '/tcp', '/udp', '/sctp', '/x', '/'))
    .map(([ip, host, container, proto]) => `${ip === '' ? '' : `${ip}:`}${host === '' && ip === '' ? '' : `${host}:`}${container}${proto}`),
);

test('property: only Errors are thrown, and every result is in range', (t) => {
  fc.assert(
    fc.property(specs, (spec) => {
      let out: PortMapping[];
      try {
        out = parsePublishSpec(spec);
      } catch (err) {
        return err instanceof Error && err.message.length > 0;
      }
      const inRange = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
      return (
        out.length >= 1 &&
        out.every(
          (p) =>
            inRange(p.containerPort) &&
            ['tcp', 'udp', 'sctp'].includes(p.protocol) &&
            (p.hostPort === 0 ? p.hostPortEnd === 0 : inRange(p.hostPort) && inRange(p.hostPortEnd) && p.hostPort <= p.hostPortEnd) &&
            (out.length === 1 || p.hostPort === p.hostPortEnd) &&
            !p.hostIP.startsWith('['),
        ) &&
        out.every((p, i) => i === 0 || p.containerPort === out[i - 1]!.containerPort + 1)
      );
    }),
    { numRuns: 5000 },
  );
  t.pass();
});
