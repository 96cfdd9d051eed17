// ctnet's plugins under libcni, the library containerd, CRI-O and Podman's CNI backend use: a
// small Go driver (integration/libcni/main.go, built from Debian's golang-github-appc-cni-dev)
// runs config lists exactly as those runtimes do, with ctnet's bin/cni as the plugin path.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniBin, ctnetBin, referenceCniBin, repoRoot, Sandbox } from './sandbox.js';

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

/**
 * A host namespace with an uplink to an "outside" namespace (host 192.0.2.1, outside 192.0.2.2,
 * which has no route to the containers: replies need the masquerade or the DNAT's reverse), and
 * a conflist shaped like Podman's and CRI-O's: bridge(ipMasq) + portmap + firewall + tuning.
 */
async function natChain(t: ExecutionContext, cniVersion: string, binDir: string, served?: PluginServerLog) {
  const sb = await Sandbox.create(t);
  if (served) served.log = (await sb.pluginServer(ctnetBin, ['--verbose'])).log;
  const out = await sb.container('out');
  await execa('ip', ['link', 'add', 'uplink', 'netns', sb.name, 'type', 'veth', 'peer', 'name', 'wan', 'netns', out.name]);
  await sb.exec('ip', ['addr', 'add', '192.0.2.1/24', 'dev', 'uplink']);
  await sb.exec('ip', ['link', 'set', 'uplink', 'up']);
  for (const args of [['addr', 'add', '192.0.2.2/24', 'dev', 'wan'], ['link', 'set', 'wan', 'up'], ['link', 'set', 'lo', 'up']]) await sb.exec('ip', args, out.path);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-libcni-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ipamDir = join(dir, 'ipam');
  const name = `lcnat-${cniVersion.replaceAll('.', '')}`;
  // Two addresses only, so STATUS can tell a full range from one GC freed.
  const plugins = [
    { type: 'bridge', bridge: 'lcnat0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: '10.98.0.0/24', rangeStart: '10.98.0.2', rangeEnd: '10.98.0.3' }]], routes: [{ dst: '0.0.0.0/0' }] } },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'firewall' },
    { type: 'tuning', sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' }, dataDir: join(dir, 'tuning') },
  ];
  const file = (v: string) => {
    const f = join(dir, `net-${v}.conflist`);
    writeFileSync(f, JSON.stringify({ cniVersion: v, name, plugins }));
    return f;
  };
  const list = file(cniVersion);
  // With a plugin server: a worker, when none is free at once, is waited for (a loaded machine).
  const env = { CNI_PATH: binDir, CNI_CACHE_DIR: join(dir, 'cache'), CTNET_NAT_DATA_DIR: sb.stateDir, ...(served ? { CTNET_PLUGIN_SERVER_WAIT_MS: '10000' } : {}) };
  const driverRun = (args: string[]) => sb.exec(driver, args, sb.hostPath, { env, reject: false });
  const run = (cmd: string, c: { path: string }, id: string, caps?: object) => driverRun([cmd, list, id, c.path, 'eth0', ...(caps ? [JSON.stringify(caps)] : [])]);
  const ports = (hostPort: number) => ({ portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] });
  return { sb, out, dir, name, ipamDir, file, driverRun, run, ports };
}

/** What a plugin server in the sandbox logged (natChain sets it). */
interface PluginServerLog {
  log: () => string;
}

/** ADD two containers with published ports; what answers where; CHECK; DEL. The same for any plugin set. */
async function publishAndTearDown(t: ExecutionContext, cniVersion: string, binDir: string, served?: PluginServerLog) {
  const s = await natChain(t, cniVersion, binDir, served);
  const [c1, c2] = [await s.sb.container(), await s.sb.container()];
  for (const [c, id, port] of [[c1, 'ctr1', 8080], [c2, 'ctr2', 8081]] as const) {
    const add = await s.run('add', c, id, s.ports(port));
    t.is(add.exitCode, 0, `${binDir} ADD ${id}: ${add.stderr}`);
    t.is(JSON.parse(add.stdout).cniVersion, cniVersion);
    await s.sb.echoServer(80, c.path, { reply: id });
  }
  s.sb.spawn('socat', ['TCP-LISTEN:9000,fork,reuseaddr', 'SYSTEM:echo $SOCAT_PEERADDR'], s.out.path);
  await s.sb.waitForPort(9000, s.out.path);
  // Every path must answer: send's own retries (20), since a first connection on a loaded machine can take seconds.
  const answer = (from: string, address: string, port: number) => s.sb.send(from, address, port, 'hi').catch(() => 'no answer');
  const seen = {
    outsideToHostPort: await answer(s.out.path, '192.0.2.1', 8080),
    hostToLocalhostPort: await answer(s.sb.hostPath, '127.0.0.1', 8080),
    hairpinFromOtherContainer: await answer(c2.path, '192.0.2.1', 8080),
    secondMapping: await answer(s.out.path, '192.0.2.1', 8081),
    masqueradedSource: await answer(c1.path, '192.0.2.2', 9000),
  };
  const check = await s.run('check', c1, 'ctr1', s.ports(8080));
  // Not for the reference: its portmap 1.1.1 fails CHECK of an IPv4-only container looking for
  // IPv6 rules (containernetworking/plugins#819, fixed in later releases).
  if (binDir !== referenceCniBin) t.is(check.exitCode, 0, `${binDir} CHECK: ${check.stderr}`);
  for (const [c, id, port] of [[c1, 'ctr1', 8080], [c2, 'ctr2', 8081]] as const) {
    const del = await s.run('del', c, id, s.ports(port));
    t.is(del.exitCode, 0, `${binDir} DEL ${id}: ${del.stderr}`);
  }
  const rules = (await s.sb.exec('iptables-save', [])).stdout.split('\n').filter((l) => l.startsWith('-A') && /ctr[12]|10\.98\.0\.[23]\b/.test(l));
  t.deepEqual(rules, [], `${binDir}: no rule of the containers remains`);
  t.deepEqual(JSON.parse((await s.sb.exec('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout).map((l: { ifname: string }) => l.ifname), ['uplink']);
  t.deepEqual(readdirSync(join(s.ipamDir, s.name)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved')), []);
  return seen;
}

const expected = { outsideToHostPort: 'ctr1', hostToLocalhostPort: 'ctr1', hairpinFromOtherContainer: 'ctr1', secondMapping: 'ctr2', masqueradedSource: '192.0.2.1' };

// The reference plugins (Debian's 1.1.1) run the same way are the oracle for reachability (once:
// they behave the same at 0.4.0).
test('bridge(ipMasq) + portmap + firewall + tuning under libcni at 1.0.0: published ports, hairpin, masquerade as the reference plugins; CHECK, DEL', async (t) => {
  if (!existsSync(driver)) return t.fail('libcni driver not built: install golang-go and golang-github-appc-cni-dev');
  const [ours, reference] = await Promise.all([publishAndTearDown(t, '1.0.0', cniBin), publishAndTearDown(t, '1.0.0', referenceCniBin)]);
  t.deepEqual(ours, expected);
  t.deepEqual(ours, reference);
});

test('the same chain under libcni with a plugin server in the host namespace: every run goes to its workers, with the same outcome', async (t) => {
  if (!existsSync(driver)) return t.fail('libcni driver not built: install golang-go and golang-github-appc-cni-dev');
  const served: PluginServerLog = { log: () => '' };
  t.deepEqual(await publishAndTearDown(t, '1.0.0', cniBin, served), expected);
  const runs = new Set([...served.log().matchAll(/running (\S+) (\S+) for pid/g)].map((m) => `${m[1]} ${m[2]}`));
  for (const command of ['ADD', 'CHECK', 'DEL']) {
    for (const plugin of ['bridge', 'portmap', 'firewall', 'tuning']) t.true(runs.has(`${plugin} ${command}`), `${plugin} ${command} served`);
  }
  t.notRegex(served.log(), /declined|bad request/);
});

test('bridge(ipMasq) + portmap + firewall + tuning under libcni at 0.4.0: published ports, hairpin, masquerade; CHECK, DEL', async (t) => {
  if (!existsSync(driver)) return t.fail('libcni driver not built: install golang-go and golang-github-appc-cni-dev');
  t.deepEqual(await publishAndTearDown(t, '0.4.0', cniBin), expected);
});

// libcni 1.2's GCNetworkList and GetStatusNetworkList (see main.go): ADD at 1.0.0 (Debian's libcni
// 1.1.2 cannot read 1.1.0 results), then the same list at 1.1.0 for STATUS and GC.
test('GC with valid attachments removes a stale attachment (rules, veth, address, port); STATUS sees the range free again', async (t) => {
  if (!existsSync(driver)) return t.fail('libcni driver not built: install golang-go and golang-github-appc-cni-dev');
  const s = await natChain(t, '1.0.0', cniBin);
  const [c1, c2] = [await s.sb.container(), await s.sb.container()];
  for (const [c, id, port] of [[c1, 'ctr1', 8080], [c2, 'ctr2', 8081]] as const) {
    const add = await s.run('add', c, id, s.ports(port));
    t.is(add.exitCode, 0, add.stderr);
  }
  const v11 = s.file('1.1.0');
  const full = await s.driverRun(['status', v11]);
  t.is(full.exitCode, 1, 'STATUS fails while the two-address range is full');
  t.regex(full.stderr, /no free address/);

  // ctr2's runtime lost its record (so libcni has nothing to DEL from its cache): only the plugins' GC can clean up.
  rmSync(join(s.dir, 'cache', 'results', `${s.name}-ctr2-eth0`));
  const gc = await s.driverRun(['gc', v11, JSON.stringify([{ containerID: 'ctr1', ifname: 'eth0' }])]);
  t.is(gc.exitCode, 0, gc.stderr);

  const rules = (await s.sb.exec('iptables-save', [])).stdout.split('\n').filter((l) => l.startsWith('-A'));
  t.deepEqual(rules.filter((l) => /ctr2|10\.98\.0\.3\b|dport 8081/.test(l)), [], 'no rule of ctr2 remains');
  t.true(rules.some((l) => /id=ctr1 /.test(l)), 'ctr1\'s rules stay');
  t.deepEqual((await s.sb.exec('ip', ['-o', 'link', 'show'], c2.path)).stdout.includes('eth0'), false, 'ctr2\'s veth pair is gone');
  t.deepEqual(readdirSync(join(s.ipamDir, s.name)).filter((f) => f.startsWith('10.')), ['10.98.0.2']);
  await s.sb.echoServer(80, c1.path, { reply: 'ctr1' });
  t.is(await s.sb.send(s.out.path, '192.0.2.1', 8080, 'hi'), 'ctr1');
  t.is((await s.driverRun(['status', v11])).exitCode, 0, 'STATUS passes once GC freed an address');

  // The port ctr2 held is free again for a new container.
  const c3 = await s.sb.container();
  const add3 = await s.run('add', c3, 'ctr3', s.ports(8081));
  t.is(add3.exitCode, 0, add3.stderr);
  for (const [c, id, port] of [[c1, 'ctr1', 8080], [c3, 'ctr3', 8081]] as const) t.is((await s.run('del', c, id, s.ports(port))).exitCode, 0);
});
