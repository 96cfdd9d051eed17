import test from 'ava';
import { claim } from './testing.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { claimFileName, parseClaimFileName, PortStore, type PortHolder } from './port-store.js';

function store(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-ports-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, ports: new PortStore(dir, 2000) };
}

const holder = (id: string, network = 'n1'): PortHolder => ({ key: id.padEnd(16, '0'), owner: 'portmap', network, containerId: id, ifname: 'eth0' });

test('file names round-trip, IPv6 included', (t) => {
  for (const c of [claim('0.0.0.0', 8080), claim('::', 53, 53, 'udp'), claim('fd00::1', 1000, 2000, 'sctp')]) {
    t.deepEqual(parseClaimFileName(claimFileName(c)), c);
  }
  t.is(claimFileName(claim('0.0.0.0', 8080)), 'tcp_0.0.0.0_8080-8080');
  t.is(parseClaimFileName('lock'), undefined);
  t.is(parseClaimFileName('icmp_0.0.0.0_1-1'), undefined);
});

test('a reservation is a file holding its holder; the same holder may claim again', async (t) => {
  const { dir, ports } = store(t);
  await ports.reserve(holder('a'), [claim('0.0.0.0', 8080), claim('0.0.0.0', 5353, 5353, 'udp')]);
  await ports.reserve(holder('a'), [claim('0.0.0.0', 8080)]);
  t.deepEqual(readdirSync(dir).sort(), ['lock', 'tcp_0.0.0.0_8080-8080', 'udp_0.0.0.0_5353-5353']);
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'tcp_0.0.0.0_8080-8080'), 'utf8')), holder('a'));
});

test('conflicts: code 102 with the spec message, the holder in the details, nothing claimed', async (t) => {
  const { dir, ports } = store(t);
  await ports.reserve(holder('a'), [claim('0.0.0.0', 8080)]);
  const err = await t.throwsAsync(ports.reserve(holder('b'), [claim('0.0.0.0', 9090), claim('10.0.0.1', 8080)]), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.PortConflict);
  t.is(err?.message, 'port 8080/tcp is already allocated on 0.0.0.0');
  t.is(err?.details, 'held by container a (eth0) of network n1');
  t.false(readdirSync(dir).includes('tcp_0.0.0.0_9090-9090'), 'all or nothing');
  // Specific first, then the wildcard: refused the other way round too.
  await ports.reserve(holder('c'), [claim('10.0.0.2', 7000)]);
  await t.throwsAsync(ports.reserve(holder('d'), [claim('0.0.0.0', 7000)]), { message: 'port 7000/tcp is already allocated on 10.0.0.2' });
  // Different address, protocol or family: fine.
  await ports.reserve(holder('e'), [claim('10.0.0.3', 7000), claim('0.0.0.0', 8080, 8080, 'udp'), claim('::', 8080)]);
  // Within one request.
  await t.throwsAsync(ports.reserve(holder('f'), [claim('0.0.0.0', 6000, 6010), claim('0.0.0.0', 6005)]), { message: /port 6005\/tcp is published twice/ });
});

test('release frees only the holder\'s files; releaseWhere serves GC; verify serves CHECK', async (t) => {
  const { ports } = store(t);
  await ports.reserve(holder('a'), [claim('0.0.0.0', 8080)]);
  await ports.reserve(holder('b', 'n2'), [claim('0.0.0.0', 8081)]);
  await ports.release(holder('b').key, [claim('0.0.0.0', 8080)]);
  t.is(ports.list().length, 2);
  t.notThrows(() => ports.verify(holder('a').key, [claim('0.0.0.0', 8080)]));
  t.is(t.throws(() => ports.verify(holder('a').key, [claim('0.0.0.0', 8081)]), { instanceOf: CniError })?.code, ErrorCode.CheckFailed);
  t.is(await ports.releaseWhere((h) => h.network === 'n2'), 1);
  await ports.release(holder('a').key, [claim('0.0.0.0', 8080)]);
  t.deepEqual(ports.list(), []);
  await ports.reserve(holder('z'), [claim('0.0.0.0', 8080)]);
  t.pass();
});

test('concurrent claims of one port: exactly one wins', async (t) => {
  const { ports } = store(t);
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => ports.reserve(holder(`c${i}`), [claim('0.0.0.0', 8080)])));
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  t.true(results.every((r) => r.status === 'fulfilled' || (r.reason as CniError).code === ErrorCode.PortConflict));
});
