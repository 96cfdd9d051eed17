import test from 'ava';
import { ErrorCode } from './errors.js';
import { dispatch, type Plugin } from './skel.js';
import type { NetConf } from './types.js';

const calls: string[] = [];
const plugin: Plugin = {
  knownArgs: ['IP'],
  parseConfig(conf) {
    if (conf.bad) throw Object.assign(new Error('boom'), { code: 'EINVAL' });
    return conf;
  },
  async add(args, conf) {
    calls.push(`add ${args.containerId} ${args.ifname} ${conf.name}`);
    return { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }], interfaces: [{ name: 'eth0' }] };
  },
  async del() {},
  async check() {},
};

const env = (over: Record<string, string | undefined> = {}) => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  ...over,
});
const conf = (over: Partial<NetConf> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'n1', type: 't', ...over });

async function run(e: Record<string, string | undefined>, stdin: string) {
  const out = await dispatch(plugin, e, () => stdin);
  return { ...out, json: out.stdout ? JSON.parse(out.stdout) : undefined };
}

test('ADD prints the result in the config version', async (t) => {
  const r = await run(env(), conf({ cniVersion: '0.3.1' }));
  t.is(r.exitCode, 0);
  t.is(r.json.cniVersion, '0.3.1');
  t.is(r.json.ips[0].version, '4');
});

test('VERSION needs no stdin and lists every supported version', async (t) => {
  const r = await run({ CNI_COMMAND: 'VERSION' }, '');
  t.deepEqual(r.json.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
});

const errorCases: Array<[string, Record<string, string | undefined>, string, number]> = [
  ['malformed JSON', env(), '{"cniVersion":', ErrorCode.DecodingFailure],
  ['empty stdin', env(), '', ErrorCode.DecodingFailure],
  ['JSON that is not an object', env(), '[1]', ErrorCode.DecodingFailure],
  ['missing CNI_NETNS on ADD', env({ CNI_NETNS: undefined }), conf(), ErrorCode.InvalidEnvironment],
  ['missing CNI_COMMAND', env({ CNI_COMMAND: undefined }), conf(), ErrorCode.InvalidEnvironment],
  ['unknown CNI_COMMAND', env({ CNI_COMMAND: 'FROB' }), conf(), ErrorCode.InvalidEnvironment],
  ['bad interface name', env({ CNI_IFNAME: 'eth0:1' }), conf(), ErrorCode.InvalidEnvironment],
  ['missing container id', env({ CNI_CONTAINERID: undefined }), conf(), ErrorCode.InvalidEnvironment],
  ['unsupported version', env(), conf({ cniVersion: '0.2.0' }), ErrorCode.IncompatibleVersion],
  ['no version at all', env(), JSON.stringify({ name: 'n', type: 't' }), ErrorCode.IncompatibleVersion],
  ['CHECK on 0.3.1', env({ CNI_COMMAND: 'CHECK' }), conf({ cniVersion: '0.3.1' }), ErrorCode.IncompatibleVersion],
  ['GC on 1.0.0', env({ CNI_COMMAND: 'GC' }), conf(), ErrorCode.IncompatibleVersion],
  ['unknown CNI_ARGS key', env({ CNI_ARGS: 'FOO=bar' }), conf(), ErrorCode.InvalidEnvironment],
  ['missing network name', env(), JSON.stringify({ cniVersion: '1.0.0', type: 't' }), ErrorCode.InvalidNetworkConfig],
  ['malformed prevResult', env(), conf({ prevResult: { ips: 'x' } as any }), ErrorCode.DecodingFailure],
  ['a plain error from the plugin', env(), conf({ bad: true }), ErrorCode.Internal],
];

for (const [name, e, stdin, code] of errorCases) {
  test(`spec error: ${name}`, async (t) => {
    const r = await run(e, stdin);
    t.is(r.exitCode, 1);
    t.is(r.json.code, code);
    t.is(typeof r.json.msg, 'string');
    t.truthy(r.json.cniVersion);
  });
}

test('errors use the config version when it is supported', async (t) => {
  const r = await run(env({ CNI_IFNAME: '' }), conf({ cniVersion: '0.4.0' }));
  // CNI_IFNAME is checked before the config is read, so the error falls back to the latest version.
  t.is(r.json.cniVersion, '1.1.0');
  const r2 = await run(env(), conf({ cniVersion: '0.4.0', bad: true }));
  t.is(r2.json.cniVersion, '0.4.0');
});

test('DEL needs no CNI_NETNS and prints nothing', async (t) => {
  const r = await run(env({ CNI_COMMAND: 'DEL', CNI_NETNS: undefined }), conf());
  t.is(r.exitCode, 0);
  t.is(r.stdout, '');
});

test('GC and STATUS need no container and succeed by default on 1.1.0', async (t) => {
  for (const cmd of ['GC', 'STATUS']) {
    const r = await run({ CNI_COMMAND: cmd, CNI_PATH: '/x' }, conf({ cniVersion: '1.1.0' }));
    t.is(r.exitCode, 0, cmd);
  }
});

test('prevResult arrives converted to the internal shape', async (t) => {
  let seen: unknown;
  const p: Plugin = { ...plugin, parseConfig: (c) => ((seen = c.prevResult), c) };
  await dispatch(p, env(), () => conf({ cniVersion: '0.4.0', prevResult: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }] } as any }));
  t.deepEqual(seen, { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] });
});
