// The namespace switch (netlink/netns.ts) and per-namespace sysctls, against sandbox namespaces.
// The test process itself stays in its own namespace; nothing is written outside the sandbox.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { mkdtempSync, readlinkSync, rmSync, writeFileSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetNs, NetNsError, originalNetNs, startThreadpool } from '../netlink/netns.js';
import { readSysctl, writeSysctl } from '../netlink/sysctl.js';
import { Sandbox, repoRoot } from './sandbox.js';

/** The namespace the calling thread is in, as "net:[inode]". */
const currentNs = () => readlinkSync('/proc/thread-self/ns/net');

async function sandboxNs(t: ExecutionContext) {
  const sb = await Sandbox.create(t);
  const ns = NetNs.open(sb.hostPath);
  t.teardown(() => ns.close());
  return { sb, ns };
}

test('open() takes a bind-mounted namespace and knows it by the same identity as the kernel', async (t) => {
  const { sb, ns } = await sandboxNs(t);
  const { stdout } = await sb.exec('readlink', ['/proc/self/ns/net']);
  t.is(ns.id, stdout.trim());
  t.false(ns.isSame(originalNetNs()));
  const viaProc = NetNs.open('/proc/self/ns/net');
  t.teardown(() => viaProc.close());
  t.true(viaProc.isSame(originalNetNs()));
});

test('open() refuses what is not a network namespace, with a code and a reason', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-netns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'file');
  writeFileSync(file, 'not a namespace');
  const cases: [string, string, RegExp][] = [
    [file, 'ENOTNETNS', /is not a network namespace \(it is a regular file\)/],
    [dir, 'ENOTNETNS', /is not a network namespace \(it is a directory\)/],
    [join(dir, 'missing'), 'ENOENT', /does not exist/],
    ['/proc/self/ns/mnt', 'ENOTNETNS', /is not a network namespace \(it is a mnt namespace\)/],
  ];
  for (const [path, code, message] of cases) {
    t.throws(() => NetNs.open(path), { instanceOf: NetNsError, code, message }, path);
  }
  t.is(currentNs(), originalNetNs().id);
});

test('run() switches the main thread in, and back even when fn throws', async (t) => {
  const { ns } = await sandboxNs(t);
  const home = currentNs();
  t.is(ns.run(currentNs), ns.id);
  t.is(currentNs(), home);
  t.throws(() => ns.run(() => { throw new Error('boom'); }), { message: 'boom' });
  t.is(currentNs(), home);
  t.throws(() => ns.run(() => ns.run(currentNs)), { message: /must not nest/ });
  t.is(currentNs(), home);
});

test('run() refuses an async function and still switches back', async (t) => {
  const { ns } = await sandboxNs(t);
  const home = currentNs();
  let insideId: string | undefined;
  t.throws(
    () =>
      ns.run(async () => {
        insideId = currentNs();
      }),
    { instanceOf: NetNsError, code: 'EASYNC' },
  );
  // The function's synchronous start ran inside; whatever follows an await would not have.
  t.is(insideId, ns.id);
  t.is(currentNs(), home);
});

/** Ids of the namespaces the threadpool's threads are in: fs.promises work runs on them. */
async function poolNamespaces(): Promise<string[]> {
  const ids = await Promise.all(Array.from({ length: 16 }, () => fsp.readlink('/proc/thread-self/ns/net')));
  return [...new Set(ids)];
}

test('threadpool threads stay in the original namespace after switched windows', async (t) => {
  const { ns } = await sandboxNs(t);
  startThreadpool();
  ns.run(() => readSysctl('net.ipv4.ip_forward'));
  t.deepEqual(await poolNamespaces(), [originalNetNs().id]);
});

// Proves the probe above can see the difference: a fresh process (CommonJS, so nothing has queued
// pool work yet) starts its pool either before switching (the rule) or inside the switched window.
const POOL_PROBE = `
const fs = require('fs');
const [addonPath, target, order] = process.argv.slice(1);
const { setns, constants } = require(addonPath);
const home = fs.openSync('/proc/thread-self/ns/net', 'r');
if (order === 'before') fs.access('/', () => {});
setns(fs.openSync(target, 'r'), constants.CLONE_NEWNET);
fs.access('/', () => {});
setns(home, constants.CLONE_NEWNET);
Promise.all(Array.from({ length: 16 }, () => fs.promises.readlink('/proc/thread-self/ns/net'))).then((ids) =>
  console.log(JSON.stringify({ main: fs.readlinkSync('/proc/thread-self/ns/net'), pool: [...new Set(ids)] })));
`;

test('the pool inherits the namespace of the thread that starts it (why startThreadpool comes first)', async (t) => {
  const { ns } = await sandboxNs(t);
  const addon = join(repoRoot, 'native', 'build', 'Release', 'ctnet_native.node');
  const probe = async (order: 'before' | 'inside') => JSON.parse((await execa('node', ['-e', POOL_PROBE, addon, ns.path, order])).stdout);
  const home = originalNetNs().id;
  t.deepEqual(await probe('before'), { main: home, pool: [home] });
  t.deepEqual(await probe('inside'), { main: home, pool: [ns.id] });
});

test('sysctls are read and written in the given namespace only', async (t) => {
  const { sb, ns } = await sandboxNs(t);
  for (const [key, dotted] of [
    ['net.ipv4.ip_forward', 'net.ipv4.ip_forward'],
    ['net/ipv4/conf/lo/route_localnet', 'net.ipv4.conf.lo.route_localnet'],
  ] as const) {
    const own = readSysctl(key);
    const want = readSysctl(key, ns) === '1' ? '0' : '1';
    writeSysctl(key, want, ns);
    t.is(readSysctl(key, ns), want, key);
    t.is((await sb.exec('sysctl', ['-n', dotted])).stdout.trim(), want, key);
    t.is(readSysctl(key), own, `${key} of the test's own namespace is unchanged`);
  }
  t.is(currentNs(), originalNetNs().id);
});
