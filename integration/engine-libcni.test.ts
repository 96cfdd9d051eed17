// The runtime's result cache is libcni's: an attachment ADDed by ctnet's runtime is CHECKed and
// DELeted by libcni (containerd, CRI-O, Podman's library) from the cache alone, and the other way
// round. The libcni driver is integration/libcni/main.go (see libcni.test.ts), built here into a
// path of this file's own so the two test files never race on one binary.
import test from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfList } from '../engine/conflist.js';
import { CniRuntime } from '../engine/runtime.js';
import { referenceCniBin, repoRoot, Sandbox } from './sandbox.js';

const GOPATH = '/usr/share/gocode';
const driver = join(tmpdir(), 'ctnet-engine-libcni-driver');

test.before(async () => {
  if (!existsSync(join(GOPATH, 'src/github.com/containernetworking/cni/libcni'))) return;
  await execa('go', ['build', '-o', driver, './integration/libcni/'], {
    cwd: repoRoot,
    env: { GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(tmpdir(), 'ctnet-gocache') },
  });
});

async function setup(t: any) {
  const sb = await Sandbox.create(t);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-engine-libcni-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cacheDir = join(dir, 'cache');
  const text = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'shared',
    plugins: [{ type: 'bridge', bridge: `ctbr${sb.id.slice(0, 6)}`, isGateway: true, ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: '10.33.0.0/24' }]] } }],
    ctnet: { id: 'ignored by libcni' },
  });
  const file = join(dir, 'shared.conflist');
  writeFileSync(file, text);
  const runtime = new CniRuntime({ pluginPath: [referenceCniBin], cacheDir, execPrefix: ['nsenter', `--net=${sb.hostPath}`, '--'] });
  const libcni = (cmd: string, id: string, netns: string) =>
    sb.exec(driver, [cmd, file, id, netns, 'eth0'], sb.hostPath, { env: { CNI_PATH: referenceCniBin, CNI_CACHE_DIR: cacheDir }, reject: false });
  const cached = () => (existsSync(join(cacheDir, 'results')) ? readdirSync(join(cacheDir, 'results')) : []);
  return { sb, runtime, list: parseConfList(text), libcni, cached };
}

test('ADD by ctnet\'s runtime; CHECK and DEL by libcni from the cache', async (t) => {
  if (!existsSync(driver)) return t.fail('libcni driver not built: install golang-go and golang-github-appc-cni-dev');
  const s = await setup(t);
  const c = await s.sb.container();
  await s.runtime.add(s.list, { containerId: 'ctr1', netns: c.path, ifname: 'eth0', args: [['IgnoreUnknown', '1']] });
  // The reference bridge's CHECK needs the prevResult, which libcni can only have read from ctnet's record.
  const check = await s.libcni('check', 'ctr1', c.path);
  t.is(check.exitCode, 0, check.stderr);
  const del = await s.libcni('del', 'ctr1', c.path);
  t.is(del.exitCode, 0, del.stderr);
  t.deepEqual(s.cached(), []);
});

test('ADD by libcni; ctnet\'s runtime lists, CHECKs and DELs it from the cache', async (t) => {
  if (!existsSync(driver)) return t.fail('libcni driver not built: install golang-go and golang-github-appc-cni-dev');
  const s = await setup(t);
  const c = await s.sb.container();
  const add = await s.libcni('add', 'ctr2', c.path);
  t.is(add.exitCode, 0, add.stderr);
  const [attachment] = await s.runtime.cachedAttachments();
  t.like(attachment, { containerId: 'ctr2', network: 'shared', ifname: 'eth0', args: [['IgnoreUnknown', '1']], config: s.list.bytes });
  t.deepEqual((await s.runtime.cachedResult(s.list, { containerId: 'ctr2', ifname: 'eth0' }))?.ips?.map((ip) => ip.address), ['10.33.0.2/24']);
  t.true(await s.runtime.check(s.list, { containerId: 'ctr2', netns: c.path, ifname: 'eth0', args: [['IgnoreUnknown', '1']] }));
  await s.runtime.del(s.list, { containerId: 'ctr2', netns: c.path, ifname: 'eth0' });
  t.deepEqual(s.cached(), []);
  t.deepEqual(JSON.parse((await s.sb.exec('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout), []);
});
