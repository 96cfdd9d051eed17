// ctnet's plugins under Podman 4 with its CNI backend, as a user would run them: podman's own
// storage and config in a temp dir, everything inside the sandbox's host namespace.
import test from 'ava';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniBin, Sandbox } from './sandbox.js';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'httpd', 'wget', 'cat', 'echo', 'sleep', 'ip'];

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

test('podman run on a ctnet network: HTTP from the host and from another container; rm leaves nothing', async (t) => {
  if (!existsSync('/usr/bin/podman') || !existsSync(BUSYBOX)) return t.fail('podman or busybox-static missing (.ci/run installs them)');
  const sb = await Sandbox.create(t);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-podman-'));
  const ipamDir = join(dir, 'ipam');
  mkdirSync(join(dir, 'net.d'));
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      // runc cannot raise podman's default rlimits in a constrained VM.
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = ["${cniBin}"]`,
      `network_config_dir = "${join(dir, 'net.d')}"`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'net.d', 'ctnet.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'ctnet',
      plugins: [
        { type: 'bridge', bridge: 'ctpod0', isGateway: true, isDefaultGateway: true, hairpinMode: true, ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: '10.95.0.0/24' }]] } },
        { type: 'tuning', dataDir: join(dir, 'tuning') },
      ],
    }),
  );
  const podman = (args: string[], input?: string) =>
    execa('nsenter', [`--net=${sb.hostPath}`, '--', 'podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--runtime', '/usr/sbin/runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], {
      env: { CONTAINERS_CONF: join(dir, 'containers.conf') },
      input,
      reject: false,
      timeout: 120_000,
    });
  t.teardown(async () => {
    await podman(['rm', '-af']);
    for (const sub of ['root', 'runroot']) await execa('umount', ['-R', join(dir, sub)], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  const tar = await execa('tar', ['-C', rootfs(dir), '-c', '.'], { encoding: 'buffer' });
  t.is((await podman(['import', '-', 'bb:latest'], tar.stdout as unknown as string)).exitCode, 0);
  const run = await podman(['run', '-d', '--name', 'web', '--network', 'ctnet', 'bb:latest', 'httpd', '-f', '-p', '80', '-h', '/www']);
  t.is(run.exitCode, 0, run.stderr);
  const ip = (await podman(['inspect', 'web', '--format', '{{.NetworkSettings.Networks.ctnet.IPAddress}}'])).stdout.trim();
  t.regex(ip, /^10\.95\.0\.\d+$/);

  const fromHost = await sb.send(sb.hostPath, ip, 80, 'GET / HTTP/1.0\r\n');
  t.regex(fromHost, /hello-podman/);
  const fromContainer = await podman(['run', '--rm', '--network', 'ctnet', 'bb:latest', 'wget', '-qO-', `http://${ip}/`]);
  t.is(fromContainer.stdout.trim(), 'hello-podman', fromContainer.stderr);

  t.is((await podman(['rm', '-f', 'web'])).exitCode, 0);
  t.deepEqual(JSON.parse((await sb.exec('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout), []);
  t.deepEqual(readdirSync(join(ipamDir, 'ctnet')).filter((f) => f !== 'lock' && !f.startsWith('last_reserved')), []);
});
