// ctnet's plugins under libcni, the library containerd, CRI-O and Podman's CNI backend use: a
// small Go driver (integration/libcni/main.go, built from Debian's golang-github-appc-cni-dev)
// runs config lists exactly as those runtimes do, with ctnet's bin/cni as the plugin path.
import test from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniBin, repoRoot, Sandbox } from './sandbox.js';

const GOPATH = '/usr/share/gocode';
const driver = join(tmpdir(), 'ctnet-libcni-driver');

test.before(async () => {
  if (!existsSync(join(GOPATH, 'src/github.com/containernetworking/cni/libcni'))) return;
  await execa('go', ['build', '-o', driver, './integration/libcni/'], {
    cwd: repoRoot,
    env: { GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(tmpdir(), 'ctnet-gocache') },
  });
});

function setup(t: any, sb: Sandbox, plugins: object[]) {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-libcni-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'net.conflist');
  writeFileSync(file, JSON.stringify({ cniVersion: '1.0.0', name: 'libcni-net', plugins }));
  return async (cmd: string, c: { path: string }, id: string, caps?: object) =>
    sb.exec(driver, [cmd, file, id, c.path, 'eth0', ...(caps ? [JSON.stringify(caps)] : [])], sb.hostPath, {
      env: { CNI_PATH: cniBin, CNI_CACHE_DIR: join(dir, 'cache') },
      reject: false,
    });
}

test('bridge + tuning under libcni: ADD, CHECK, DEL with real traffic', async (t) => {
  if (!existsSync(driver)) return t.fail('libcni driver not built: install golang-go and golang-github-appc-cni-dev');
  const sb = await Sandbox.create(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'ctnet-libcni-ipam-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const run = setup(t, sb, [
    { type: 'bridge', bridge: 'lcbr0', isGateway: true, isDefaultGateway: true, ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.97.0.0/24' }]] } },
    { type: 'tuning', sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' }, dataDir: join(dataDir, 'tuning') },
  ]);
  const [c1, c2] = [await sb.container(), await sb.container()];
  const a1 = await run('add', c1, 'ctr1');
  const a2 = await run('add', c2, 'ctr2');
  t.is(a1.exitCode, 0, a1.stderr);
  t.is(a2.exitCode, 0, a2.stderr);
  const r1 = JSON.parse(a1.stdout);
  t.is(r1.cniVersion, '1.0.0');
  t.is(r1.ips[0].address, '10.97.0.2/24');

  await sb.echoServer(8300, c1.path);
  t.is(await sb.send(c2.path, '10.97.0.2', 8300, 'under libcni'), 'under libcni');
  const check = await run('check', c1, 'ctr1');
  t.is(check.exitCode, 0, check.stderr);

  for (const [c, id] of [[c1, 'ctr1'], [c2, 'ctr2']] as const) {
    const del = await run('del', c, id);
    t.is(del.exitCode, 0, del.stderr);
  }
  t.deepEqual(JSON.parse((await sb.exec('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout), []);
  // libcni's DEL with the cache gone (a runtime that lost its state) still succeeds.
  t.is((await run('del', c1, 'ctr1')).exitCode, 0);
});
