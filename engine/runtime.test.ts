// The runtime against fake plugins: a small script that logs what it was given (env and stdin)
// and answers like a plugin, so ordering, injection, caching and error handling are checked
// without namespaces. Real plugins in real namespaces: integration/engine-runtime.test.ts.
import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../cni/errors.js';
import { parseConfList } from './conflist.js';
import { CniRuntime, type PluginRun, type RuntimeConf, type RuntimeOptions } from './runtime.js';

const FAKE = `
const fs = require('fs');
const type = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
let conf = {};
try { conf = JSON.parse(input); } catch {}
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CNI_') || k === 'FAKE_MARK'));
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ type, env, conf }) + '\\n');
const cmd = process.env.CNI_COMMAND;
const out = (o) => process.stdout.write(JSON.stringify(o));
const fail = conf.fail && conf.fail[cmd];
if (fail) { out({ cniVersion: conf.cniVersion, code: fail[0], msg: fail[1], details: 'fake details' }); process.exit(1); }
if (cmd === 'VERSION') out(type === 'oldfake' ? { cniVersion: '0.2.0' } : { cniVersion: '1.1.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
if (cmd === 'ADD') {
  const r = Object.assign({ interfaces: [], ips: [], dns: {} }, conf.prevResult, { cniVersion: conf.cniVersion });
  if (conf.addIp) r.ips = [...r.ips, { address: conf.addIp }];
  if (conf.garbage) { process.stdout.write('not json'); process.exit(0); }
  out(r);
}
`;

interface Fixture {
  dir: string;
  runtime: CniRuntime;
  cacheDir: string;
  log: () => Array<{ type: string; env: Record<string, string>; conf: any }>;
  clearLog: () => void;
}

function fixture(t: any, extra: Pick<RuntimeOptions, 'execPrefix' | 'onPluginRun'> = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-runtime-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'fake.cjs'), FAKE);
  for (const type of ['fake1', 'fake2', 'fake3', 'oldfake']) {
    writeFileSync(join(dir, type), `#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec '${process.execPath}' '${join(dir, 'fake.cjs')}' ${type} "$@"\n`);
    chmodSync(join(dir, type), 0o755);
  }
  const logFile = join(dir, 'log.jsonl');
  writeFileSync(logFile, '');
  const cacheDir = join(dir, 'cache');
  const runtime = new CniRuntime({ pluginPath: [join(dir, 'empty'), dir], cacheDir, env: { PATH: process.env.PATH, FAKE_LOG: logFile }, ...extra });
  return {
    dir,
    runtime,
    cacheDir,
    log: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    clearLog: () => writeFileSync(logFile, ''),
  };
}

const list = (plugins: object[], extra: object = {}) => parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'net1', plugins, ...extra }));
const rt: RuntimeConf = {
  containerId: 'ctr1',
  netns: '/run/netns/x',
  ifname: 'eth0',
  args: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'p']],
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], mac: '02:00:00:00:00:01', bandwidth: { ingressRate: 1 } },
};

test('ADD runs the plugins in order with name, version, prevResult and only the declared capabilities', async (t) => {
  const f = fixture(t);
  const l = list([
    { type: 'fake1', addIp: '10.0.0.2/24', capabilities: { portMappings: true, mac: false } },
    { type: 'fake2', name: 'own', runtimeConfig: { kept: 1 } },
    { type: 'fake3', addIp: 'fd00::2/64', capabilities: { mac: true, ips: true } },
  ]);
  const result = await f.runtime.add(l, rt);
  t.deepEqual(result.ips, [{ address: '10.0.0.2/24' }, { address: 'fd00::2/64' }]);

  const calls = f.log();
  t.deepEqual(calls.map((c) => c.type), ['fake1', 'fake2', 'fake3']);
  for (const c of calls) {
    t.like(c.conf, { name: 'net1', cniVersion: '1.0.0' });
    t.like(c.env, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p' });
    t.is(c.env.CNI_PATH, `${join(f.dir, 'empty')}:${f.dir}`);
  }
  t.is(calls[0]!.conf.prevResult, undefined);
  t.deepEqual(calls[0]!.conf.runtimeConfig, { portMappings: rt.capabilityArgs!.portMappings });
  // No declared capability: the plugin's own runtimeConfig is left alone.
  t.deepEqual(calls[1]!.conf.runtimeConfig, { kept: 1 });
  t.deepEqual(calls[1]!.conf.prevResult.ips, [{ address: '10.0.0.2/24' }]);
  t.is(calls[1]!.conf.prevResult.cniVersion, '1.0.0');
  t.deepEqual(calls[2]!.conf.runtimeConfig, { mac: '02:00:00:00:00:01' });
});

test('ADD caches the result in libcni\'s layout', async (t) => {
  const f = fixture(t);
  const l = list([{ type: 'fake1', addIp: '10.0.0.2/24' }], { ctnet: { id: 'abc' } });
  await f.runtime.add(l, rt);
  const file = join(f.cacheDir, 'results', 'net1-ctr1-eth0');
  const cached = JSON.parse(readFileSync(file, 'utf8'));
  t.deepEqual(cached, {
    kind: 'cniCacheV1',
    containerId: 'ctr1',
    config: Buffer.from(l.bytes).toString('base64'),
    ifName: 'eth0',
    networkName: 'net1',
    netns: '/run/netns/x',
    cniArgs: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'p']],
    capabilityArgs: rt.capabilityArgs,
    result: { cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.0.0.2/24' }], dns: {} },
  });
  t.deepEqual((await f.runtime.cachedResult(l, rt))?.ips, [{ address: '10.0.0.2/24' }]);
  const [attachment] = await f.runtime.cachedAttachments('ctr1');
  t.like(attachment, { containerId: 'ctr1', network: 'net1', ifname: 'eth0', netns: '/run/netns/x', config: l.bytes });
  t.deepEqual(await f.runtime.cachedAttachments('other'), []);
});

test('legacy lists get results converted to their version on the way between plugins', async (t) => {
  const f = fixture(t);
  const l = parseConfList(JSON.stringify({ cniVersion: '0.3.1', name: 'net1', plugins: [{ type: 'fake1', addIp: '10.0.0.2/24' }, { type: 'fake2' }] }));
  await f.runtime.add(l, rt);
  t.deepEqual(f.log()[1]!.conf.prevResult.ips, [{ version: '4', address: '10.0.0.2/24' }]);
});

test('DEL runs in reverse with the cached result, falls back to the cached arguments, and drops the record', async (t) => {
  const f = fixture(t);
  const l = list([
    { type: 'fake1', addIp: '10.0.0.2/24', capabilities: { portMappings: true } },
    { type: 'fake2', addIp: '10.0.0.3/24' },
  ]);
  await f.runtime.add(l, rt);
  f.clearLog();
  await f.runtime.del(l, { containerId: 'ctr1', netns: '', ifname: 'eth0' });
  const calls = f.log();
  t.deepEqual(calls.map((c) => [c.type, c.env.CNI_COMMAND]), [['fake2', 'DEL'], ['fake1', 'DEL']]);
  for (const c of calls) t.deepEqual(c.conf.prevResult.ips, [{ address: '10.0.0.2/24' }, { address: '10.0.0.3/24' }]);
  t.deepEqual(calls[1]!.conf.runtimeConfig, { portMappings: rt.capabilityArgs!.portMappings });
  t.is(calls[0]!.env.CNI_ARGS, 'IgnoreUnknown=1;K8S_POD_NAME=p');
  t.is(calls[0]!.env.CNI_NETNS, '');
  t.false(existsSync(join(f.cacheDir, 'results', 'net1-ctr1-eth0')));
});

test('DEL without a record runs without prevResult; a corrupt record is dropped', async (t) => {
  const f = fixture(t);
  const l = list([{ type: 'fake1' }]);
  await f.runtime.del(l, rt);
  t.is(f.log()[0]!.conf.prevResult, undefined);
  f.clearLog();
  await f.runtime.add(l, rt);
  const file = join(f.cacheDir, 'results', 'net1-ctr1-eth0');
  writeFileSync(file, '{not json');
  await f.runtime.del(l, rt);
  t.is(f.log().at(-1)!.conf.prevResult, undefined);
  t.false(existsSync(file));
});

test('a failing plugin stops the chain; its code and message come back with the plugin named', async (t) => {
  const f = fixture(t);
  const l = list([{ type: 'fake1' }, { type: 'fake2', fail: { ADD: [101, 'address taken'], DEL: [11, 'busy'] } }, { type: 'fake3' }]);
  const err: any = await t.throwsAsync(f.runtime.add(l, rt));
  t.is(err.code, 101);
  t.is(err.message, 'plugin type="fake2" failed (add): address taken');
  t.is(err.details, 'fake details');
  t.deepEqual(f.log().map((c) => c.type), ['fake1', 'fake2']);
  t.false(existsSync(join(f.cacheDir, 'results', 'net1-ctr1-eth0')));

  // DEL stops at the first failure too (libcni), in reverse order.
  f.clearLog();
  const del: any = await t.throwsAsync(f.runtime.del(l, rt));
  t.is(del.code, 11);
  t.deepEqual(f.log().map((c) => c.type), ['fake3', 'fake2']);
});

test('a missing plugin and a garbled result are clear errors', async (t) => {
  const f = fixture(t);
  const missing: any = await t.throwsAsync(f.runtime.add(list([{ type: 'nosuch' }]), rt));
  t.is(missing.code, ErrorCode.InvalidEnvironment);
  t.regex(missing.message, /^plugin type="nosuch" failed \(add\): failed to find plugin "nosuch"/);
  const garbled: any = await t.throwsAsync(f.runtime.add(list([{ type: 'fake1', garbage: true }]), rt));
  t.is(garbled.code, ErrorCode.DecodingFailure);
  t.regex(garbled.message, /plugin type="fake1" failed \(add\): plugin fake1 printed a result that is not JSON/);
  await t.throwsAsync(f.runtime.add(list([{ type: 'fake1' }]), { ...rt, containerId: '' }), { message: /CNI_CONTAINERID is missing/ });
  await t.throwsAsync(f.runtime.add(list([{ type: 'fake1' }]), { ...rt, ifname: 'a/b' }), { message: /CNI_IFNAME "a\/b" is invalid/ });
});

test('CHECK runs in order with the cached result; disableCheck skips it; old lists are refused', async (t) => {
  const f = fixture(t);
  const l = list([{ type: 'fake1', addIp: '10.0.0.2/24' }, { type: 'fake2' }]);
  await f.runtime.add(l, rt);
  f.clearLog();
  t.true(await f.runtime.check(l, rt));
  const calls = f.log();
  t.deepEqual(calls.map((c) => [c.type, c.env.CNI_COMMAND]), [['fake1', 'CHECK'], ['fake2', 'CHECK']]);
  t.deepEqual(calls[0]!.conf.prevResult.ips, [{ address: '10.0.0.2/24' }]);

  f.clearLog();
  t.false(await f.runtime.check(list([{ type: 'fake1' }], { disableCheck: true }), rt));
  t.deepEqual(f.log(), []);
  const old = parseConfList(JSON.stringify({ cniVersion: '0.3.1', name: 'net1', plugins: [{ type: 'fake1' }] }));
  await t.throwsAsync(f.runtime.check(old, rt), { message: 'configuration version "0.3.1" does not support the CHECK command' });
});

test('GC deletes stale cached attachments, then runs each plugin\'s GC once with the valid ones', async (t) => {
  const f = fixture(t);
  const l = list([{ type: 'fake1' }, { type: 'fake2' }], { cniVersion: '1.1.0' });
  const other = list([{ type: 'fake1' }], { name: 'net2' });
  for (const id of ['keep', 'stale']) await f.runtime.add(l, { ...rt, containerId: id });
  await f.runtime.add(other, { ...rt, containerId: 'stale' });
  f.clearLog();
  await f.runtime.gc(l, [{ containerID: 'keep', ifname: 'eth0' }]);
  const calls = f.log();
  t.deepEqual(calls.map((c) => [c.type, c.env.CNI_COMMAND, c.env.CNI_CONTAINERID]), [
    ['fake2', 'DEL', 'stale'],
    ['fake1', 'DEL', 'stale'],
    ['fake1', 'GC', ''],
    ['fake2', 'GC', ''],
  ]);
  const valid = [{ containerID: 'keep', ifname: 'eth0' }];
  t.like(calls[2]!.conf, { name: 'net1', cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid });
  t.deepEqual((await f.runtime.cachedAttachments()).map((a) => `${a.network}/${a.containerId}`), ['net1/keep', 'net2/stale']);
});

test('GC: pre-1.1.0 lists get only the stale DELs; disableGC leaves everything alone; failures are collected', async (t) => {
  const f = fixture(t);
  const l = list([{ type: 'fake1' }]);
  await f.runtime.add(l, { ...rt, containerId: 'stale' });
  f.clearLog();
  await f.runtime.gc({ ...l, disableGC: true }, []);
  t.deepEqual(f.log(), []);
  await f.runtime.gc(l, []);
  t.deepEqual(f.log().map((c) => c.env.CNI_COMMAND), ['DEL']);

  const failing = list([{ type: 'fake1', fail: { GC: [5, 'disk'] } }, { type: 'fake2', fail: { GC: [5, 'also'] } }], { cniVersion: '1.1.0' });
  const err: any = await t.throwsAsync(f.runtime.gc(failing, []));
  t.is(err.message, 'plugin type="fake1" failed (gc): disk; plugin type="fake2" failed (gc): also');
});

test('STATUS runs each plugin in order and stops at the first that is not ready', async (t) => {
  const f = fixture(t);
  await f.runtime.status(list([{ type: 'fake1' }, { type: 'fake2' }], { cniVersion: '1.1.0' }));
  t.deepEqual(f.log().map((c) => [c.type, c.env.CNI_COMMAND, c.conf.name]), [['fake1', 'STATUS', 'net1'], ['fake2', 'STATUS', 'net1']]);
  f.clearLog();
  const err: any = await t.throwsAsync(f.runtime.status(list([{ type: 'fake1', fail: { STATUS: [50, 'pool full'] } }, { type: 'fake2' }], { cniVersion: '1.1.0' })));
  t.is(err.code, 50);
  t.deepEqual(f.log().map((c) => c.type), ['fake1']);
  f.clearLog();
  await f.runtime.status(list([{ type: 'fake1' }]));
  t.deepEqual(f.log(), [], 'STATUS is a 1.1.0 command');
});

test('VERSION probing and validation', async (t) => {
  const f = fixture(t);
  t.deepEqual(await f.runtime.versionInfo('fake1'), { cniVersion: '1.1.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  t.deepEqual(await f.runtime.versionInfo('oldfake'), { cniVersion: '0.2.0', supportedVersions: ['0.1.0', '0.2.0'] });
  t.like(f.log()[0]!, { env: { CNI_COMMAND: 'VERSION' }, conf: { cniVersion: '1.1.0' } });
  t.deepEqual(await f.runtime.validate(list([{ type: 'fake1', capabilities: { portMappings: true, mac: false } }, { type: 'fake2', capabilities: { portMappings: true, ips: true } }])), ['portMappings', 'ips']);
  await t.throwsAsync(f.runtime.validate(list([{ type: 'oldfake' }, { type: 'nosuch' }])), {
    message: /plugin oldfake does not support config version "1\.0\.0"; plugin type="nosuch" failed \(version\): failed to find plugin/,
  });
});

test('execPrefix runs every plugin through the given command', async (t) => {
  const f = fixture(t, { execPrefix: ['/usr/bin/env', 'FAKE_MARK=through-prefix'] });
  await f.runtime.add(list([{ type: 'fake1' }]), rt);
  t.is(f.log()[0]!.env.FAKE_MARK, 'through-prefix');
});

test('onPluginRun reports every execution, in order, with its outcome; a plugin that is not found never ran', async (t) => {
  const runs: PluginRun[] = [];
  const f = fixture(t, { onPluginRun: (r) => runs.push(r) });
  await f.runtime.add(list([{ type: 'fake1' }, { type: 'fake2' }]), rt);
  await f.runtime.del(list([{ type: 'fake1' }, { type: 'fake2' }]), rt);
  t.deepEqual(
    runs.map(({ type, command, ok }) => [type, command, ok]),
    [['fake1', 'ADD', true], ['fake2', 'ADD', true], ['fake2', 'DEL', true], ['fake1', 'DEL', true]],
  );
  t.true(runs.every((r) => r.ms > 0));
  runs.length = 0;
  await t.throwsAsync(f.runtime.add(list([{ type: 'fake1', fail: { ADD: [11, 'nope'] } }, { type: 'fake2' }]), rt));
  t.deepEqual(runs.map(({ type, ok }) => [type, ok]), [['fake1', false]]);
  runs.length = 0;
  await t.throwsAsync(f.runtime.add(list([{ type: 'absent' }]), rt));
  t.deepEqual(runs, []);
});
