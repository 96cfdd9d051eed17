import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNetworkConfig } from './conflist.js';
import { buildBridgeNetwork } from './network-config.js';
import { NetworkStore } from './network-store.js';

function store(t: any): NetworkStore {
  const root = mkdtempSync(join(tmpdir(), 'ctnet-store-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return new NetworkStore({ root, lockTimeoutMs: 5_000 });
}

const id = (c: string) => c.repeat(64);
const create = (s: NetworkStore, name: string, idChar = 'a', extra: object = {}) =>
  s.create((existing) => buildBridgeNetwork({ name, ...extra }, { existing, id: id(idChar) }));

test('a network is one readable .conflist in <root>/networks that a CNI runtime can load by name', async (t) => {
  const s = store(t);
  const doc = await create(s, 'web', 'a', { labels: { app: 'web' } });
  const file = join(s.root, 'networks', 'web.conflist');
  const text = readFileSync(file, 'utf8');
  t.deepEqual(JSON.parse(text), doc);
  t.true(text.startsWith('{\n  "cniVersion": "1.0.0",'));
  t.true(text.endsWith('}\n'));
  const list = await findNetworkConfig(s.dir, 'web');
  t.is(list.bytes, text);
  t.deepEqual(list.plugins.map((p) => p.type), ['bridge']);
  t.is((await s.configList('web')).bytes, text);
});

test('lookup by name, full id or unique id prefix; a missing network is an error', async (t) => {
  const s = store(t);
  await create(s, 'one', 'a');
  await create(s, 'two', 'b');
  await s.create((existing) => buildBridgeNetwork({ name: 'three' }, { existing, id: `a${'c'.repeat(63)}` }));
  t.is((await s.get('two'))?.name, 'two');
  t.is((await s.get(id('b')))?.name, 'two');
  t.is((await s.get('bbbb'))?.name, 'two');
  t.is((await s.get('ac'))?.name, 'three');
  await t.throwsAsync(s.get('a'), { message: 'network a is ambiguous (2 matches found on id prefix)' });
  t.is(await s.get('nope'), undefined);
  await t.throwsAsync(s.resolve('nope'), { message: 'network nope not found' });
  t.deepEqual((await s.list()).map((d) => d.name), ['one', 'three', 'two']);
});

test('names are unique, and a config list ctnet does not manage is neither listed nor overwritten', async (t) => {
  const s = store(t);
  await create(s, 'one');
  await t.throwsAsync(create(s, 'one', 'b'), { message: 'network with name one already exists' });
  mkdirSync(s.dir, { recursive: true });
  writeFileSync(join(s.dir, 'theirs.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'theirs', plugins: [{ type: 'bridge' }] }));
  t.deepEqual((await s.list()).map((d) => d.name), ['one']);
  await t.throwsAsync(create(s, 'theirs', 'c'), { message: 'network with name theirs already exists' });
  t.is(JSON.parse(readFileSync(join(s.dir, 'theirs.conflist'), 'utf8')).plugins[0].type, 'bridge');
});

test('concurrent creates see each other: distinct subnets and bridges', async (t) => {
  const s = store(t);
  const docs = await Promise.all(Array.from({ length: 10 }, (_, i) => s.create((existing) => buildBridgeNetwork({ name: `n${i}` }, { existing }))));
  const subnets = new Set(docs.map((d) => d.ctnet.ipam[0]!.subnet));
  t.is(subnets.size, 10);
  t.is(new Set(docs.map((d) => d.plugins[0]!.bridge)).size, 10);
  t.deepEqual([...subnets].sort(), Array.from({ length: 10 }, (_, i) => `172.${17 + i}.0.0/16`).sort());
});

test('update rewrites the document; name and id stay', async (t) => {
  const s = store(t);
  await create(s, 'one');
  const next = await s.update('one', (cur) => ({ ...cur, ctnet: { ...cur.ctnet, labels: { x: 'y' } } }));
  t.deepEqual((await s.resolve('one')).ctnet.labels, { x: 'y' });
  t.deepEqual(next.ctnet.labels, { x: 'y' });
  await t.throwsAsync(s.update('one', (cur) => ({ ...cur, name: 'other' })), { message: /cannot change the name or id/ });
  await t.throwsAsync(s.update('nope', (cur) => cur), { message: 'network nope not found' });
});

test('remove: the guard can refuse; then the file is gone', async (t) => {
  const s = store(t);
  await create(s, 'one');
  await t.throwsAsync(
    s.remove('one', () => {
      throw new Error('error while removing network: network one has active endpoints (name:"web")');
    }),
    { message: /active endpoints/ },
  );
  t.truthy(await s.get('one'));
  await s.remove('one');
  t.is(await s.get('one'), undefined);
  await t.throwsAsync(s.remove('one'), { message: 'network one not found' });
});

test('a damaged network file is reported by name, not skipped', async (t) => {
  const s = store(t);
  await create(s, 'one');
  writeFileSync(join(s.dir, 'one.conflist'), '{"half":');
  await t.throwsAsync(s.list(), { message: /network config .*one\.conflist is not valid JSON .*fix or remove the file/ });
});
