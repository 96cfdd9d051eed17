// A real resolver client against the responder: glibc (getent) in a sandbox namespace, reading the
// /etc/resolv.conf and /etc/hosts that dns/ generates (bind-mounted in a private mount namespace,
// so the machine's own files never change). The daemon listens on port 53 of a gateway-like
// address on a bridge inside the sandbox, as it will on a user network's bridge.
import test from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostsFile, parseAddHost } from '../dns/hosts-file.js';
import { readyPid } from '../dns/pid-file.js';
import { containerResolvConf } from '../dns/resolv-conf.js';
import { dnsStatePaths, writeRecordsFile, writeResponderFile } from '../dns/state-files.js';
import { Sandbox, repoRoot } from './sandbox.js';

const GATEWAY = '10.89.0.1';
const GATEWAY6 = 'fd89::1';

test('glibc resolves container names through the responder, with the generated resolv.conf and hosts', async (t) => {
  const sb = await Sandbox.create(t);
  const ip = (...args: string[]) => execa('ip', ['-n', sb.name, ...args]);
  await ip('link', 'add', 'gw0', 'type', 'bridge');
  await ip('addr', 'add', `${GATEWAY}/24`, 'dev', 'gw0');
  await ip('addr', 'add', `${GATEWAY6}/64`, 'dev', 'gw0', 'nodad');
  await ip('link', 'set', 'gw0', 'up');

  const dir = mkdtempSync(join(tmpdir(), 'ctnet-dns-glibc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeResponderFile(dir, { upstreams: [], networks: [{ name: 'app', listen: [GATEWAY, GATEWAY6], domain: 'dns.ctnet' }] });
  writeRecordsFile(dir, 'app', [
    { id: '0a1b2c3d4e5f'.padEnd(64, '0'), name: 'web', aliases: ['www'], ipv4: ['10.89.0.2'], ipv6: ['fd89::2'] },
    { id: 'b'.repeat(64), name: 'db', ipv4: ['10.89.0.3'] },
  ]);
  // Started through nsenter like every sandbox process (ended by PID on teardown), on port 53.
  const daemon = sb.spawn(process.execPath, ['--import=tsx', join(repoRoot, 'dns', 'daemon.ts'), '--state-dir', dir]);
  const pidFile = dnsStatePaths(dir).pidFile;
  for (let i = 0; i < 200 && readyPid(pidFile) === undefined; i++) await new Promise((r) => setTimeout(r, 25));
  t.is(readyPid(pidFile), daemon.pid, 'the daemon came up');

  const resolvConf = join(dir, 'resolv.conf');
  const hosts = join(dir, 'hosts');
  // Fail fast if something is wrong: one attempt, one second.
  writeFileSync(resolvConf, containerResolvConf({ host: {}, responder: [GATEWAY], domain: 'dns.ctnet', dnsOptions: ['timeout:1', 'attempts:1'] }).content);
  writeFileSync(hosts, hostsFile({ hostname: 'client', addresses: ['10.89.0.9'], extraHosts: [parseAddHost('extra:192.0.2.7')] }));
  const getent = async (...args: string[]) => {
    const script = 'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && shift 2 && exec getent "$@"';
    const r = await sb.exec('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', resolvConf, hosts, ...args], sb.hostPath, { reject: false, timeout: 10_000 });
    return r.exitCode === 0 ? r.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' ')) : `exit ${r.exitCode}`;
  };

  t.deepEqual(await getent('ahostsv4', 'web'), ['10.89.0.2 STREAM', '10.89.0.2 DGRAM', '10.89.0.2 RAW']);
  t.deepEqual(await getent('hosts', 'db'), ['10.89.0.3 db']);
  t.deepEqual(await getent('hosts', 'WWW.dns.ctnet'), ['fd89::2 WWW.dns.ctnet']); // getent hosts prefers AAAA
  t.deepEqual(await getent('ahostsv6', 'web'), ['fd89::2 STREAM', 'fd89::2 DGRAM', 'fd89::2 RAW']);
  t.deepEqual(await getent('hosts', '10.89.0.3'), ['10.89.0.3 db.dns.ctnet']); // PTR
  t.is(await getent('hosts', 'nosuch'), 'exit 2'); // NXDOMAIN: "not found"
  // From the generated /etc/hosts, not DNS.
  t.deepEqual(await getent('hosts', 'extra'), ['192.0.2.7 extra']);
  t.deepEqual(await getent('hosts', 'client'), ['10.89.0.9 client']);

  // nsenter execs node, so the pid file named the process we started: SIGTERM it and it cleans up.
  process.kill(daemon.pid as number, 'SIGTERM');
  t.is((await daemon).exitCode, 0);
  t.false(existsSync(pidFile));
});
