import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../cni/errors.js';
import { findNetworkConfig, loadConfDir, loadConfFile, parseConfList } from './conflist.js';

function tempDir(t: any): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-conflist-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a conflist parses with its flags; unknown top-level keys are tolerated and kept in the text', (t) => {
  const text = JSON.stringify({ cniVersion: '1.0.0', name: 'net1', disableCheck: 'TRUE', disableGC: true, ctnet: { id: 'x' }, plugins: [{ type: 'bridge', capabilities: { portMappings: true } }, { type: 'tuning' }] });
  const list = parseConfList(text);
  t.like(list, { name: 'net1', cniVersion: '1.0.0', disableCheck: true, disableGC: true, bytes: text });
  t.deepEqual(list.plugins.map((p) => p.type), ['bridge', 'tuning']);
});

test('cniVersions: the highest version ctnet speaks wins', (t) => {
  t.is(parseConfList(JSON.stringify({ cniVersion: '0.4.0', cniVersions: ['1.0.0', '1.1.0', '9.9.9'], name: 'n', plugins: [{ type: 'x' }] })).cniVersion, '1.1.0');
  t.is(parseConfList(JSON.stringify({ cniVersions: ['0.3.1'], name: 'n', plugins: [{ type: 'x' }] })).cniVersion, '0.3.1');
  const err = t.throws(() => parseConfList(JSON.stringify({ cniVersion: '0.2.0', name: 'n', plugins: [{ type: 'x' }] })));
  t.is((err as any).code, ErrorCode.IncompatibleVersion);
  t.regex(err!.message, /asks for 0\.2\.0; ctnet's runtime runs 0\.3\.0, .*1\.1\.0/);
});

test('a single plugin config is promoted to a list of one', (t) => {
  const list = parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' }));
  t.is(list.name, 'lo');
  t.deepEqual(list.plugins, [{ cniVersion: '1.0.0', name: 'lo', type: 'loopback' }]);
});

test('malformed lists are refused with what is wrong', (t) => {
  const bad: Array<[string, RegExp, number]> = [
    ['{', /not valid JSON/, ErrorCode.DecodingFailure],
    ['[]', /not a JSON object/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', plugins: [{ type: 'x' }] }), /no "name"/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'a b', plugins: [{ type: 'x' }] }), /invalid characters/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [] }), /"plugins" is empty/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: {} }), /"plugins" must be a list/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'n' }), /no plugins in the list/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ name: 'x' }] }), /plugins\[0\] has no "type"/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'n', disableCheck: 'yes', plugins: [{ type: 'x' }] }), /"disableCheck" must be true or false/, ErrorCode.InvalidNetworkConfig],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'x', capabilities: [] }] }), /"capabilities" must be an object/, ErrorCode.InvalidNetworkConfig],
  ];
  for (const [text, message, code] of bad) {
    const err = t.throws(() => parseConfList(text, 'test.conflist'), { message }, text);
    t.is((err as any).code, code, text);
  }
});

test('plugin configs in <dir>/<network>/*.conf are appended unless loadOnlyInlinedPlugins', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.conflist'), JSON.stringify({ cniVersion: '1.1.0', name: 'net-a', plugins: [{ type: 'bridge' }] }));
  writeFileSync(join(dir, 'b.conflist'), JSON.stringify({ cniVersion: '1.1.0', name: 'net-b', loadOnlyInlinedPlugins: true, plugins: [{ type: 'bridge' }] }));
  writeFileSync(join(dir, 'c.conflist'), JSON.stringify({ cniVersion: '1.1.0', name: 'net-c' }));
  for (const net of ['net-a', 'net-b', 'net-c']) {
    mkdirSync(join(dir, net));
    writeFileSync(join(dir, net, '20-portmap.conf'), JSON.stringify({ type: 'portmap' }));
    writeFileSync(join(dir, net, '10-tuning.conf'), JSON.stringify({ type: 'tuning' }));
  }
  t.deepEqual((await loadConfFile(join(dir, 'a.conflist'))).plugins.map((p) => p.type), ['bridge', 'tuning', 'portmap']);
  t.deepEqual((await loadConfFile(join(dir, 'b.conflist'))).plugins.map((p) => p.type), ['bridge']);
  t.deepEqual((await loadConfFile(join(dir, 'c.conflist'))).plugins.map((p) => p.type), ['tuning', 'portmap']);
});

test('findNetworkConfig: conflists first in file-name order, then .conf files', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, '20-x.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'second' }] }));
  writeFileSync(join(dir, '10-x.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'first' }] }));
  writeFileSync(join(dir, '05-y.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'y', type: 'single' }));
  writeFileSync(join(dir, '00-x.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'loses' }));
  t.is((await findNetworkConfig(dir, 'x')).plugins[0]!.type, 'first');
  t.is((await findNetworkConfig(dir, 'y')).plugins[0]!.type, 'single');
  await t.throwsAsync(findNetworkConfig(dir, 'z'), { message: /no network config named "z"/ });
  t.deepEqual((await loadConfDir(dir)).map((l) => l.plugins[0]!.type), ['first', 'second', 'loses', 'single']);
  t.deepEqual(await loadConfDir(join(dir, 'missing')), []);
});
