// Property tests of the protocol layer: whatever the environment and stdin hold, a command either
// reaches the plugin or ends as a spec error object with a spec code; it never throws, hangs or
// reaches the plugin with input that failed validation.
import test from 'ava';
import fc from 'fast-check';
import { ErrorCode } from './errors.js';
import { dispatch, type Plugin } from './skel.js';

const CODES = new Set<number>(Object.values(ErrorCode));

/** A plugin that records what reached it and changes nothing. */
function recorder() {
  const reached: Array<{ containerId: string; ifname: string }> = [];
  const plugin: Plugin = {
    knownArgs: ['IP', 'MAC'],
    parseConfig: (c) => c,
    add: async (args) => {
      reached.push({ containerId: args.containerId, ifname: args.ifname });
      return { cniVersion: '1.1.0' };
    },
    del: async () => {},
    check: async () => {},
  };
  return { plugin, reached };
}

const hostile = fc.oneof(
  fc.string(),
  fc.constantFrom('', ' ', 'a b', "it's", '"quoted"', 'semi;colon', '$(reboot)', '`id`', 'new\nline', 'x'.repeat(5000), 'eth0:1', '../../etc', 'é'.repeat(9), '\u0000nul'),
);
const version = fc.oneof(fc.constantFrom('0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '2.0.0', ''), fc.string());
const config = fc.oneof(
  fc.json(),
  fc.record({ cniVersion: version, name: hostile, type: hostile, prevResult: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  hostile,
);
const env = fc.record(
  {
    CNI_COMMAND: fc.oneof(fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'), hostile),
    CNI_CONTAINERID: hostile,
    CNI_NETNS: hostile,
    CNI_IFNAME: hostile,
    CNI_ARGS: fc.oneof(hostile, fc.array(fc.tuple(hostile, hostile)).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(';'))),
    CNI_PATH: hostile,
  },
  { requiredKeys: [] },
);

test('any env and stdin: a result or a spec error, never a throw', async (t) => {
  await fc.assert(
    fc.asyncProperty(env, config, async (e, stdin) => {
      const { plugin } = recorder();
      const out = await dispatch(plugin, e, () => stdin);
      if (out.exitCode === 0) return true;
      const err = JSON.parse(out.stdout);
      return CODES.has(err.code) && typeof err.msg === 'string' && err.msg.length > 0 && typeof err.cniVersion === 'string';
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('only valid container ids and interface names ever reach the plugin', async (t) => {
  const valid = { cniVersion: '1.0.0', name: 'n', type: 't' };
  await fc.assert(
    fc.asyncProperty(hostile, hostile, async (containerId, ifname) => {
      const { plugin, reached } = recorder();
      await dispatch(plugin, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: '/x', CNI_IFNAME: ifname, CNI_PATH: '/x' }, () => JSON.stringify(valid));
      return reached.every((r) => /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(r.containerId) && Buffer.byteLength(r.ifname) <= 15 && !/[/:\s]/.test(r.ifname) && !['', '.', '..'].includes(r.ifname));
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
