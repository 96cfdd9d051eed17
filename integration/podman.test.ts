// ctnet's plugins under Podman 4 with its CNI backend, as a user would run them: podman's own
// storage and config in a temp dir, everything inside the sandbox's host namespace.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniBin, ctnetBin, Sandbox } from './sandbox.js';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'httpd', 'wget', 'cat', 'echo', 'sleep', 'ip', 'nc'];
/** Podman's default IPAM store (host-local without dataDir): tests use unique network names in it and remove them. */
const DEFAULT_IPAM_DIR = '/var/lib/cni/networks';
/** Podman's libcni result cache (not configurable in Podman 4): a DEL that failed leaves a file here. */
const PODMAN_CNI_CACHE = '/var/lib/cni/results';

/** A busybox root filesystem with a web page, to `podman import`. */
function rootfs(dir: string): string {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'www'));
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'www', 'index.html'), 'hello-podman\n');
  return root;
}

/**
 * Podman with private storage and config, run inside the sandbox's host namespace. The plugin dir
 * holds launchers that exec bin/cni's with the sandbox's nat state dir set: podman's cleanup of a
 * container that exits by itself (`run --rm`) runs from conmon, which passes on only a few
 * variables, so an environment variable on podman would not reach that DEL (it would look in
 * /run/cni/ctnet, shared by the machine, and find nothing to remove).
 */
async function podmanEnv(t: ExecutionContext, sb: Sandbox, networks: string[], settings: string[] = [], pluginEnv = '') {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-podman-'));
  const plugins = join(dir, 'cni');
  mkdirSync(plugins);
  for (const p of readdirSync(cniBin)) {
    writeFileSync(join(plugins, p), `#!/bin/sh\nCTNET_NAT_DATA_DIR='${sb.stateDir}' ${pluginEnv} exec '${join(cniBin, p)}' "$@"\n`);
    chmodSync(join(plugins, p), 0o755);
  }
  mkdirSync(join(dir, 'net.d'));
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      // runc cannot raise podman's default rlimits in a constrained VM.
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = ["${plugins}"]`,
      `network_config_dir = "${join(dir, 'net.d')}"`,
      ...settings,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  const podman = (args: string[], input?: string) =>
    execa('nsenter', [`--net=${sb.hostPath}`, '--', 'podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--runtime', '/usr/sbin/runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], {
      env: { CONTAINERS_CONF: join(dir, 'containers.conf') },
      input,
      reject: false,
      timeout: 120_000,
    });
  t.teardown(async () => {
    await podman(['rm', '-af', '-t', '0']);
    for (const sub of ['root', 'runroot']) await execa('umount', ['-R', join(dir, sub)], { reject: false });
    rmSync(dir, { recursive: true, force: true });
    const cached = existsSync(PODMAN_CNI_CACHE) ? readdirSync(PODMAN_CNI_CACHE) : [];
    for (const f of cached.filter((f) => networks.some((n) => f.startsWith(`${n}-`)))) rmSync(join(PODMAN_CNI_CACHE, f), { force: true });
  });
  const tar = await execa('tar', ['-C', rootfs(dir), '-c', '.'], { encoding: 'buffer' });
  const imported = await podman(['import', '-', 'bb:latest'], tar.stdout as unknown as string);
  t.is(imported.exitCode, 0, imported.stderr);
  return { dir, podman };
}

const veths = async (sb: Sandbox) => JSON.parse((await sb.exec('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout).map((l: { ifname: string }) => l.ifname);
const reserved = (ipamDir: string) => (existsSync(ipamDir) ? readdirSync(ipamDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved')) : []);

/**
 * `podman run` on a bridge + tuning network, HTTP to it from the host and from another container,
 * `rm`; with `served`, a plugin server runs in the host namespace (its log is returned).
 */
async function runOnNetwork(t: ExecutionContext, served: boolean): Promise<string> {
  const sb = await Sandbox.create(t);
  const server = served ? await sb.pluginServer(ctnetBin, ['--verbose']) : undefined;
  // Unique: podman's libcni cache, keyed by network name, is machine-wide.
  const net = `ctnet-${sb.id}`;
  // With a server: a worker, when none is free at once, is waited for (a loaded machine).
  const { dir, podman } = await podmanEnv(t, sb, [net], [], served ? 'CTNET_PLUGIN_SERVER_WAIT_MS=10000' : '');
  const ipamDir = join(dir, 'ipam');
  writeFileSync(
    join(dir, 'net.d', `${net}.conflist`),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: net,
      plugins: [
        { type: 'bridge', bridge: 'ctpod0', isGateway: true, isDefaultGateway: true, hairpinMode: true, ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: '10.95.0.0/24' }]] } },
        { type: 'tuning', dataDir: join(dir, 'tuning') },
      ],
    }),
  );
  const run = await podman(['run', '-d', '--name', 'web', '--network', net, 'bb:latest', 'httpd', '-f', '-p', '80', '-h', '/www']);
  t.is(run.exitCode, 0, run.stderr);
  const ip = (await podman(['inspect', 'web', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`])).stdout.trim();
  t.regex(ip, /^10\.95\.0\.\d+$/);

  const fromHost = await sb.send(sb.hostPath, ip, 80, 'GET / HTTP/1.0\r\n');
  t.regex(fromHost, /hello-podman/);
  const fromContainer = await podman(['run', '--rm', '--network', net, 'bb:latest', 'wget', '-qO-', `http://${ip}/`]);
  t.is(fromContainer.stdout.trim(), 'hello-podman', fromContainer.stderr);

  t.is((await podman(['rm', '-f', '-t', '0', 'web'])).exitCode, 0);
  t.deepEqual(await veths(sb), []);
  t.deepEqual(reserved(join(ipamDir, net)), []);
  return server?.log() ?? '';
}

test('podman run on a ctnet network: HTTP from the host and from another container; rm leaves nothing', async (t) => {
  if (!existsSync('/usr/bin/podman') || !existsSync(BUSYBOX)) return t.fail('podman or busybox-static missing (.ci/run installs them)');
  await runOnNetwork(t, false);
});

test('the same with a plugin server in the host namespace: podman\'s plugin runs go to its workers', async (t) => {
  if (!existsSync('/usr/bin/podman') || !existsSync(BUSYBOX)) return t.fail('podman or busybox-static missing (.ci/run installs them)');
  const log = await runOnNetwork(t, true);
  const runs = new Set([...log.matchAll(/running (\S+) (\S+) for pid/g)].map((m) => `${m[1]} ${m[2]}`));
  for (const run of ['bridge ADD', 'tuning ADD', 'tuning DEL', 'bridge DEL']) t.true(runs.has(run), `${run} served: ${log}`);
  t.notRegex(log, /declined|bad request/);
});

// The conflists here are podman's own: its default network (generated in memory) and one from
// `podman network create`, both bridge(ipMasq, hairpinMode) + portmap + firewall(backend "") + tuning.
test('podman\'s own conflists on ctnet: -p 8080:80, container to container, masquerade, rm and network rm leave nothing', async (t) => {
  if (!existsSync('/usr/bin/podman') || !existsSync(BUSYBOX)) return t.fail('podman or busybox-static missing (.ci/run installs them)');
  const sb = await Sandbox.create(t);
  // Unique names: host-local keeps podman's networks in the machine-wide default store.
  const defaultNet = `ctd-${sb.id}`;
  const userNet = `ctn-${sb.id}`;
  t.teardown(() => {
    for (const n of [defaultNet, userNet]) rmSync(join(DEFAULT_IPAM_DIR, n), { recursive: true, force: true });
  });
  const { dir, podman } = await podmanEnv(t, sb, [defaultNet, userNet], [`default_network = "${defaultNet}"`, 'default_subnet = "10.96.0.0/24"']);

  // "Outside": a namespace routed to the host namespace's own address 192.0.2.1.
  const out = await sb.container('out');
  await execa('ip', ['link', 'add', 'uplink', 'netns', sb.name, 'type', 'veth', 'peer', 'name', 'wan', 'netns', out.name]);
  await sb.exec('ip', ['addr', 'add', '192.0.2.1/24', 'dev', 'uplink']);
  await sb.exec('ip', ['link', 'set', 'uplink', 'up']);
  await sb.exec('ip', ['addr', 'add', '192.0.2.2/24', 'dev', 'wan'], out.path);
  await sb.exec('ip', ['link', 'set', 'wan', 'up'], out.path);
  await sb.exec('ip', ['link', 'set', 'lo', 'up'], out.path);

  const web = await podman(['run', '-d', '--name', 'web', '-p', '8080:80', 'bb:latest', 'httpd', '-f', '-p', '80', '-h', '/www']);
  t.is(web.exitCode, 0, web.stderr);
  const get = 'GET / HTTP/1.0\r\n';
  t.regex(await sb.send(out.path, '192.0.2.1', 8080, get), /hello-podman/, 'from outside to the host address');
  t.regex(await sb.send(sb.hostPath, '127.0.0.1', 8080, get), /hello-podman/, 'on the host, to 127.0.0.1');
  t.regex(await sb.send(sb.hostPath, '192.0.2.1', 8080, get), /hello-podman/, 'on the host, to its own address');

  // Masquerade: the outside sees the host's address, not the container's. Both ends write down what
  // they saw, in files: podman's capture of a short-lived container's stdout loses it now and then
  // (the outside logged the connection, and podman printed nothing, exit status 0).
  const peers = await sb.peerLogger(9000, out.path, join(dir, 'peers'));
  const masq = await podman(['run', '--rm', '-v', `${dir}:/out`, 'bb:latest', 'sh', '-c', 'echo | nc 192.0.2.2 9000 > /out/reply']);
  t.is(masq.exitCode, 0, masq.stderr);
  t.deepEqual(peers(), ['192.0.2.1'], 'the connections the outside saw');
  t.is(readFileSync(join(dir, 'reply'), 'utf8').trim(), '192.0.2.1', 'the answer came back to the container');

  const created = await podman(['network', 'create', userNet]);
  t.is(created.exitCode, 0, created.stderr);
  const conflist = JSON.parse(readFileSync(join(dir, 'net.d', `${userNet}.conflist`), 'utf8'));
  t.deepEqual(conflist.plugins.map((p: { type: string }) => p.type), ['bridge', 'portmap', 'firewall', 'tuning']);
  t.like(conflist.plugins[0], { ipMasq: true, hairpinMode: true });
  const bridge = conflist.plugins[0].bridge as string;

  const a = await podman(['run', '-d', '--name', 'a', '--network', userNet, 'bb:latest', 'httpd', '-f', '-p', '80', '-h', '/www']);
  t.is(a.exitCode, 0, a.stderr);
  const aIp = (await podman(['inspect', 'a', '--format', `{{(index .NetworkSettings.Networks "${userNet}").IPAddress}}`])).stdout.trim();
  t.regex(aIp, /^10\.89\.\d+\.\d+$/);
  const b = await podman(['run', '--rm', '--network', userNet, 'bb:latest', 'wget', '-qO-', `http://${aIp}/`]);
  t.is(b.stdout.trim(), 'hello-podman', `container to container: ${b.stderr}`);
  // Hairpin-like: from the other network to the published port on the host's address.
  const viaHost = await podman(['run', '--rm', '--network', userNet, 'bb:latest', 'wget', '-qO-', 'http://192.0.2.1:8080/']);
  t.is(viaHost.stdout.trim(), 'hello-podman', `to the published port from a container: ${viaHost.stderr}`);

  // Podman handles these two itself (no CNI call); they must still work beside ctnet's networks.
  const none = await podman(['run', '--rm', '--network', 'none', 'bb:latest', 'ip', '-o', '-4', 'addr']);
  t.regex(none.stdout, /^1: lo\s+inet 127\.0\.0\.1\/8[^\n]*$/, none.stderr);
  const host = await podman(['run', '--rm', '--network', 'host', 'bb:latest', 'ip', '-o', '-4', 'addr']);
  t.regex(host.stdout, /inet 192\.0\.2\.1\/24/, host.stderr);

  const rm = await podman(['rm', '-f', '-t', '0', 'web', 'a']);
  t.is(rm.exitCode, 0, rm.stderr);
  const rules = (await sb.exec('iptables-save', [])).stdout.split('\n').filter((l) => l.startsWith('-A') && / id=[0-9a-f]{64}\b|10\.(89|96)\.0\.\d+\/32/.test(l));
  t.deepEqual(rules, [], 'no per-container rule remains');
  t.deepEqual(await veths(sb), ['uplink']);
  t.deepEqual(reserved(join(DEFAULT_IPAM_DIR, defaultNet)), []);
  t.deepEqual(reserved(join(DEFAULT_IPAM_DIR, userNet)), []);
  const ports = join(sb.stateDir, 'ports');
  t.deepEqual(existsSync(ports) ? readdirSync(ports).filter((f) => f !== 'lock') : [], [], 'no host port reservation remains');

  const netRm = await podman(['network', 'rm', userNet]);
  t.is(netRm.exitCode, 0, netRm.stderr);
  t.false(existsSync(join(dir, 'net.d', `${userNet}.conflist`)));
  t.is((await sb.exec('ip', ['link', 'show', bridge], sb.hostPath, { reject: false })).exitCode, 1, `${bridge} removed`);
});
