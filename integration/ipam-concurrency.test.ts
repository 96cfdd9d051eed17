// Many host-local processes on one store at once: ctnet's alone, ctnet's interleaved with the
// reference Go plugin, a lock holder killed mid-way, and a lock held past the timeout.
// Needs `npm run build`. Serial: each test already runs up to 100 processes on 2 cores.
import test from 'ava';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode } from '../cni/errors.js';
import { native } from '../native/index.js';
import { type HostLocalOutput, type HostLocalRun, ctnetHostLocal, referenceHostLocal, requireBuiltPlugin, runHostLocal, startHostLocal, tempDir } from '../ipam/testing.js';

requireBuiltPlugin();

// A /24 leaves room for 100 attachments and some slack; cniVersion 1.0.0 is the newest the reference (1.1.1) speaks.
function network(t: import('ava').ExecutionContext) {
  const dataDir = tempDir(t);
  const config = { cniVersion: '1.0.0', name: 'busy', type: 'bridge', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.77.0.0/24' }]] } };
  const dir = join(dataDir, 'busy');
  const files = () => (existsSync(dir) ? readdirSync(dir).sort() : []);
  const run = (command: HostLocalRun['command'], containerId: string, bin = ctnetHostLocal) => runHostLocal({ command, config, containerId, bin });
  return { dataDir, dir, config, files, run };
}

const addressOf = (out: HostLocalOutput): string | undefined => out.json?.ips?.[0]?.address;
const isStoreControl = (name: string) => name === 'lock' || name.startsWith('last_reserved_ip.');

test.serial('100 concurrent ADDs get 100 distinct addresses; 100 concurrent DELs leave only lock and cursor', async (t) => {
  const { files, run } = network(t);
  const ids = Array.from({ length: 100 }, (_, i) => `ctr-${i}`);
  const adds = await Promise.all(ids.map((id) => run('ADD', id)));
  const failed = adds.filter((a) => a.exitCode !== 0);
  t.deepEqual(failed.map((a) => a.stdout + a.stderr), []);
  t.is(new Set(adds.map(addressOf)).size, 100);
  t.is(files().filter((f) => !isStoreControl(f)).length, 100);

  const dels = await Promise.all(ids.map((id) => run('DEL', id)));
  t.deepEqual(dels.filter((d) => d.exitCode !== 0).map((d) => d.stdout), []);
  t.deepEqual(files(), ['last_reserved_ip.0', 'lock']);
});

// CI installs the reference plugin; elsewhere the test is skipped, saying why.
const haveReference = existsSync(referenceHostLocal);
const interop = haveReference ? test.serial : test.skip;
const interopTitle = haveReference ? '' : ` (skipped: ${referenceHostLocal} is not installed; apt-get install containernetworking-plugins)`;

interop(`ctnet and the reference host-local share one store safely${interopTitle}`, async (t) => {
  const { files, run } = network(t);
  // Interleaved: even indexes run ctnet, odd ones the reference, all at once.
  const plan = Array.from({ length: 100 }, (_, i) => ({ id: `${i % 2 ? 'go' : 'ts'}-${i}`, bin: i % 2 ? referenceHostLocal : ctnetHostLocal }));
  const adds = await Promise.all(plan.map((p) => run('ADD', p.id, p.bin)));
  t.deepEqual(adds.filter((a) => a.exitCode !== 0).map((a) => a.stdout + a.stderr), []);
  const addresses = adds.map(addressOf);
  t.is(new Set(addresses).size, 100, 'no address handed out twice');
  t.is(files().filter((f) => !isStoreControl(f)).length, 100);

  // Each plugin releases, by container ID, what the other reserved.
  const swapped = plan.map((p) => ({ id: p.id, bin: p.bin === ctnetHostLocal ? referenceHostLocal : ctnetHostLocal }));
  const dels = await Promise.all(swapped.map((p) => run('DEL', p.id, p.bin)));
  t.deepEqual(dels.filter((d) => d.exitCode !== 0).map((d) => d.stdout + d.stderr), []);
  t.deepEqual(files(), ['last_reserved_ip.0', 'lock']);
});

/** Resolves once the stream has printed a line matching `pattern`. */
function waitForLine(stream: Readable, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got: ${seen}`)), timeoutMs);
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

test.serial('a process killed while holding the lock does not block the next allocation', async (t) => {
  const { config, run } = network(t);
  const holder = startHostLocal({ command: 'ADD', config, containerId: 'doomed', env: { CTNET_TEST_HOLD_LOCK_MS: '60000' } });
  t.teardown(() => {
    if (holder.exitCode === null && holder.signalCode === null && holder.pid) process.kill(holder.pid, 'SIGKILL');
  });
  await waitForLine(holder.stderr, /holding the store lock/, 20_000);
  process.kill(holder.pid!, 'SIGKILL');
  const killed = await holder;
  t.is(killed.signal, 'SIGKILL');

  const started = Date.now();
  const next = await runHostLocal({ command: 'ADD', config, containerId: 'next', env: { CTNET_IPAM_LOCK_TIMEOUT_MS: '10000' } });
  t.is(next.exitCode, 0, next.stdout);
  t.true(Date.now() - started < 5000, 'the lock died with its holder');
  // The killed ADD had reserved 10.77.0.2 (a runtime DELs it on failure); the next gets its own.
  t.is(addressOf(next), '10.77.0.3/24');
  t.is((await run('DEL', 'doomed')).exitCode, 0);
});

test.serial('a lock held past CTNET_IPAM_LOCK_TIMEOUT_MS is code 11, and the process ends', async (t) => {
  const { dir, config, files } = network(t);
  mkdirSync(dir, { recursive: true });
  // Held by this test process, through its own open file description, like any other holder.
  const fd = openSync(join(dir, 'lock'), 'a');
  t.teardown(() => closeSync(fd));
  const { flock, constants } = native();
  t.true(flock(fd, constants.LOCK_EX | constants.LOCK_NB));

  const started = Date.now();
  const out = await runHostLocal({ command: 'ADD', config, containerId: 'waiter', env: { CTNET_IPAM_LOCK_TIMEOUT_MS: '400' } });
  const elapsed = Date.now() - started;
  t.is(out.exitCode, 1);
  t.is(out.json?.code, ErrorCode.TryAgainLater);
  t.regex(out.json?.msg ?? '', /still held by another process after 400 ms/);
  t.true(elapsed >= 400 && elapsed < 10_000, `took ${elapsed} ms`);
  t.deepEqual(files(), ['lock'], 'nothing was reserved');
});

interop(`dual stack: the two plugins read each other's reservations and round-robin cursors${interopTitle}`, async (t) => {
  const dataDir = tempDir(t);
  const config = {
    cniVersion: '1.0.0',
    name: 'dual',
    type: 'bridge',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.78.0.0/24' }], [{ subnet: 'fd00:78::/64' }]] },
  };
  const run = (command: HostLocalRun['command'], containerId: string, bin: string) => runHostLocal({ command, config, containerId, bin });
  const addresses = async (containerId: string, bin: string) => {
    const out = await run('ADD', containerId, bin);
    t.is(out.exitCode, 0, out.stdout + out.stderr);
    return out.json?.ips?.map((ip) => ip.address);
  };
  t.deepEqual(await addresses('c1', referenceHostLocal), ['10.78.0.2/24', 'fd00:78::2/64']);
  t.deepEqual(await addresses('c2', ctnetHostLocal), ['10.78.0.3/24', 'fd00:78::3/64'], 'ctnet continues after the reference cursor');
  t.deepEqual(await addresses('c3', referenceHostLocal), ['10.78.0.4/24', 'fd00:78::4/64'], 'and the reference after ctnet');
  // Each sees the other's reservation of an attachment: CHECK (the reference) and duplicate ADD refusal (ctnet).
  t.is((await run('CHECK', 'c2', referenceHostLocal)).exitCode, 0);
  t.is((await run('ADD', 'c1', ctnetHostLocal)).json?.code, ErrorCode.AddressConflict);
  for (const [id, bin] of [['c1', ctnetHostLocal], ['c2', referenceHostLocal], ['c3', ctnetHostLocal]] as const) {
    t.is((await run('DEL', id, bin)).exitCode, 0);
  }
  t.deepEqual(readdirSync(join(dataDir, 'dual')).sort(), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
});
