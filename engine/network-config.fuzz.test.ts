// Property tests of `network create`'s input: any name, subnets, gateways, ranges and -o options
// give a network document whose bridge plugin config the bridge plugin accepts, or a plain Error
// with a message (the CLI's one line) — never a TypeError or a document with garbage in it.
import test from 'ava';
import fc from 'fast-check';
import { parseBridgeConfig } from '../bridge/config.js';
import type { CmdArgs } from '../cni/skel.js';
import { buildBridgeNetwork } from './network-config.js';

const hostile = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('', ' ', 'a b', "it's", '$(reboot)', 'x'.repeat(300), 'new\nline', '../etc', '10.1.0.0/16', '10.1.0.1', 'fd00::/64', '10.1.0.0/33', '300.1.1.1/24', '0', '1500', '-1', 'true', 'false', 'brx'),
);
const optionKey = fc.constantFrom(
  'com.docker.network.bridge.name',
  'com.docker.network.driver.mtu',
  'com.docker.network.bridge.enable_icc',
  'com.docker.network.bridge.enable_ip_masquerade',
  'com.docker.network.bridge.host_binding_ipv4',
  'com.docker.network.unknown',
);

const cmdArgs: CmdArgs = { command: 'ADD', containerId: 'c1', netns: '/run/netns/x', ifname: 'eth0', args: new Map(), path: [] };

test('any network create input: a document the bridge plugin accepts, or an Error with a message', (t) => {
  fc.assert(
    fc.property(
      hostile,
      fc.array(hostile, { maxLength: 2 }),
      fc.array(hostile, { maxLength: 2 }),
      fc.array(hostile, { maxLength: 1 }),
      fc.boolean(),
      fc.boolean(),
      fc.dictionary(optionKey, hostile, { maxKeys: 3 }),
      (name, subnets, gateways, ipRanges, ipv6, internal, options) => {
        let doc;
        try {
          doc = buildBridgeNetwork({ name, subnets, gateways, ipRanges, ipv6, internal, options }, { existing: [], hostRoutes: [] });
        } catch (err) {
          return err instanceof Error && !(err instanceof TypeError) && err.message.length > 0 && !/undefined|\[object/.test(err.message);
        }
        const plugin = doc.plugins[0]!;
        parseBridgeConfig({ ...plugin, cniVersion: doc.cniVersion, name: doc.name, type: 'bridge' } as never, cmdArgs);
        return doc.name === name;
      },
    ),
    { numRuns: 1500 },
  );
  t.pass();
});
