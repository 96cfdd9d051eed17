// The first real plugins, run as a runtime runs them: loopback and none in sandbox namespaces, and
// every bad-input case of the protocol layer answered with a spec error on stdout.
import test from 'ava';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from './sandbox.js';

const conf = (type: string, cniVersion = '1.1.0') => ({ cniVersion, name: 'lo-net', type });

for (const type of ['loopback', 'none']) {
  test(`${type}: ADD brings lo up and returns a 1.1.0 result; CHECK passes; DEL is idempotent`, async (t) => {
    const sb = await Sandbox.create(t);
    const c = await sb.container();
    const before = await sb.exec('ip', ['-br', 'link', 'show', 'lo'], c.path);
    t.regex(before.stdout, /DOWN/);

    const add = await sb.plugin(type, { command: 'ADD', config: conf(type), containerId: 'c1', netns: c.path, ifname: 'lo' });
    t.is(add.exitCode, 0, add.stdout + add.stderr);
    t.is(add.json.cniVersion, '1.1.0');
    t.deepEqual(add.json.interfaces, [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: c.path }]);
    t.deepEqual(add.json.ips.map((i: any) => i.address), ['127.0.0.1/8', '::1/128']);
    t.true(add.json.ips.every((i: any) => i.version === undefined && i.interface === 0));

    // Real traffic over the loopback that the plugin brought up.
    await sb.echoServer(7000, c.path);
    t.is(await sb.send(c.path, '127.0.0.1', 7000, 'ok-lo'), 'ok-lo');
    t.is(await sb.send(c.path, '::1', 7000, 'ok-lo6'), 'ok-lo6');

    const check = await sb.plugin(type, { command: 'CHECK', config: { ...conf(type), prevResult: add.json }, containerId: 'c1', netns: c.path, ifname: 'lo' });
    t.is(check.exitCode, 0, check.stdout);

    for (let i = 0; i < 2; i++) {
      const del = await sb.plugin(type, { command: 'DEL', config: conf(type), containerId: 'c1', netns: c.path, ifname: 'lo' });
      t.is(del.exitCode, 0, del.stdout);
      t.is(del.stdout, '');
    }
    const checkDown = await sb.plugin(type, { command: 'CHECK', config: conf(type), containerId: 'c1', netns: c.path, ifname: 'lo' });
    t.is(checkDown.exitCode, 1);
    t.regex(checkDown.json.msg, /lo is down/);
  });
}

test('loopback with cniVersion 0.3.1 prints a 0.3.1-shaped result', async (t) => {
  const sb = await Sandbox.create(t);
  const c = await sb.container();
  const add = await sb.plugin('loopback', { command: 'ADD', config: conf('loopback', '0.3.1'), containerId: 'c1', netns: c.path, ifname: 'lo' });
  t.is(add.exitCode, 0);
  t.is(add.json.cniVersion, '0.3.1');
  t.deepEqual(add.json.ips.map((i: any) => i.version), ['4', '6']);
});

test('DEL succeeds when the namespace is gone or CNI_NETNS is empty', async (t) => {
  const sb = await Sandbox.create(t);
  const c = await sb.container();
  await sb.exec('ip', ['netns', 'delete', c.name]);
  for (const netns of [c.path, undefined]) {
    const del = await sb.plugin('none', { command: 'DEL', config: conf('none'), containerId: 'c1', netns, ifname: 'lo' });
    t.is(del.exitCode, 0, del.stdout);
  }
});

test('VERSION without stdin answers the supported versions', async (t) => {
  const sb = await Sandbox.create(t);
  for (const type of ['none', 'loopback', 'host-local']) {
    const v = await sb.plugin(type, { command: 'VERSION', stdin: '' });
    t.is(v.exitCode, 0);
    t.deepEqual(v.json, { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  }
});

test('bad input: a spec error on stdout, exit 1, the right code, nothing changed', async (t) => {
  const sb = await Sandbox.create(t);
  const c = await sb.container();
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-bad-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'not-a-netns');
  writeFileSync(file, 'x');
  const base = { command: 'ADD', containerId: 'c1', netns: c.path, ifname: 'lo', config: conf('loopback') };
  const cases: Array<[string, Partial<typeof base> & { stdin?: string; cniArgs?: string }, number, RegExp]> = [
    ['malformed JSON', { stdin: '{"cniVersion": "1.0.0", "name": ' }, 6, /cannot decode/],
    ['missing CNI_NETNS on ADD', { netns: undefined }, 4, /CNI_NETNS/],
    ['bad interface name', { ifname: 'eth0:1' }, 4, /CNI_IFNAME "eth0:1" is invalid/],
    ['unsupported version', { config: conf('loopback', '0.2.0') }, 1, /incompatible CNI version/],
    ['a netns path that is a regular file', { netns: file }, 4, /is not a network namespace/],
    ['a netns path that is a directory', { netns: dir }, 4, /is not a network namespace/],
    ['a netns path that is not there', { netns: '/run/netns/ctnet-t-missing' }, 103, /does not exist/],
    ["the plugin's own namespace", { netns: '/proc/self/ns/net' }, 4, /host's own network namespace/],
    ['an unknown CNI_ARGS key', { cniArgs: 'FOO=bar' }, 4, /unknown key FOO/],
  ];
  for (const [name, over, code, msg] of cases) {
    const r = await sb.plugin('loopback', { ...base, ...over });
    t.is(r.exitCode, 1, name);
    t.is(r.json?.code, code, `${name}: ${r.stdout}`);
    t.regex(r.json?.msg ?? '', msg, name);
  }
  // None of it touched the container: lo is still down.
  t.regex((await sb.exec('ip', ['-br', 'link', 'show', 'lo'], c.path)).stdout, /DOWN/);
  const ok = await sb.plugin('loopback', { ...base, cniArgs: 'IgnoreUnknown=1;FOO=bar' });
  t.is(ok.exitCode, 0, ok.stdout);
});
