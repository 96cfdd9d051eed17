// The responder over real sockets, on loopback only: each test takes its own 127.77.N.0/24, with
// network 1's listener on .1, network 2's on .2, and a stand-in upstream DNS server the test runs on
// .9 (and .10; never a real resolver). Simulated containers send from their own loopback address (.5, .6),
// which the records list as theirs. Most tests drive DnsResponder in-process; the last ones run the
// daemon as the engine will (files in a state dir, pid file, signals).
import test from 'ava';
import dnsPacket, { type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exchange } from '../dns/exchange.js';
import type { ContainerRecordInput } from '../dns/records.js';
import { DnsResponder, type NetworkConfig, type ResponderLimits } from '../dns/responder.js';
import { ensureResponder, stopResponder } from '../dns/launch.js';
import { readyPid } from '../dns/pid-file.js';
import { dnsStatePaths, writeRecordsFile, writeResponderFile } from '../dns/state-files.js';
import { FrameReader, frame } from '../dns/tcp-framing.js';
import type { Server } from '../dns/upstreams.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await cond()) return Date.now() - start;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---- one loopback /24 per test ----------------------------------------------------------------

let nextSubnet = 1;
interface Lab {
  net1: string;
  net2: string;
  upstream: string;
  /** A second stand-in upstream. */
  upstream2: string;
  /** Source addresses of simulated containers. */
  client1: string;
  client2: string;
  port: number;
}

/** A fresh 127.77.N.0/24 and a port free on it (every listener of the test uses that port). */
async function lab(): Promise<Lab> {
  const n = nextSubnet++;
  const at = (host: number) => `127.77.${n}.${host}`;
  const port = await new Promise<number>((res, rej) => {
    const s = dgram.createSocket('udp4');
    s.once('error', rej);
    s.bind(0, at(1), () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
  return { net1: at(1), net2: at(2), upstream: at(9), upstream2: at(10), client1: at(5), client2: at(6), port };
}

// ---- a client and a stand-in upstream ----------------------------------------------------------

interface AskOptions {
  tcp?: boolean;
  from?: string;
  edns?: number;
  timeoutMs?: number;
}

function queryMessage(name: string, type: RecordType, edns?: number): Buffer {
  const packet: Packet = { type: 'query', id: Math.floor(Math.random() * 65536), flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] };
  if (edns) packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  return dnsPacket.encode(packet);
}

async function ask(server: Server, name: string, type: RecordType = 'A', opts: AskOptions = {}): Promise<DecodedPacket & { rcode: string }> {
  const message = queryMessage(name, type, opts.edns);
  const response = await exchange(server, message, opts.tcp ? 'tcp' : 'udp', { timeoutMs: opts.timeoutMs ?? 2000, ...(opts.from ? { localAddress: opts.from } : {}) });
  return dnsPacket.decode(response) as DecodedPacket & { rcode: string };
}

const dataOf = (p: DecodedPacket) => (p.answers ?? []).map((a) => ('data' in a ? String(a.data) : '')).sort();

interface Upstream {
  server: Server;
  /** Names asked, in order. */
  seen: string[];
  close: () => Promise<void>;
}

/**
 * A stand-in upstream on UDP and TCP: *.example.test gets 192.0.2.1, big.example.test 60
 * addresses; `silent` answers nothing at all (an upstream that never replies).
 */
async function standInUpstream(address: string, port: number, opts: { silent?: boolean; answer?: string } = {}): Promise<Upstream> {
  const seen: string[] = [];
  const respond = (message: Buffer): Buffer | undefined => {
    const query = dnsPacket.decode(message);
    const q = query.questions?.[0];
    if (!q) return undefined;
    seen.push(q.name);
    if (opts.silent) return undefined;
    const lower = q.name.toLowerCase();
    const count = lower === 'big.example.test' ? 60 : lower.endsWith('example.test') ? 1 : 0;
    const answers = Array.from({ length: q.type === 'A' ? count : 0 }, (_, i) => ({
      type: 'A' as const,
      name: q.name,
      ttl: 30,
      class: 'IN' as const,
      data: i === 0 ? (opts.answer ?? '192.0.2.1') : `198.51.100.${i}`,
    }));
    return dnsPacket.encode({ type: 'response', id: query.id, flags: dnsPacket.RECURSION_AVAILABLE | (count ? 0 : 3), questions: query.questions, answers });
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, peer) => {
    const r = respond(m);
    if (r) udp.send(r, peer.port, peer.address);
  });
  await new Promise<void>((res) => udp.bind(port, address, res));
  const tcp = net.createServer((socket) => {
    const reader = new FrameReader();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const m of reader.push(chunk)) {
        const r = respond(m);
        if (r) socket.write(frame(r));
      }
    });
  });
  await new Promise<void>((res) => tcp.listen(port, address, res));
  const close = async () => {
    udp.close();
    await new Promise((res) => tcp.close(res));
  };
  return { server: { address, port }, seen, close };
}

// ---- records of the scenario ----------------------------------------------------------------------

const WEB_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const appRecords = (l: Lab): ContainerRecordInput[] => [
  { id: WEB_ID, name: 'web', aliases: ['www'], ipv4: ['10.89.0.2'], ipv6: ['fd89::2'] },
  { id: 'b'.repeat(64), name: 'db', ipv4: ['10.89.0.3'] },
  // The simulated container that asks from client1.
  { id: 'c'.repeat(64), name: 'asker', ipv4: [l.client1] },
];
const otherRecords: ContainerRecordInput[] = [{ id: 'd'.repeat(64), name: 'cache', ipv4: ['10.90.0.2'] }];

async function startResponder(t: { teardown: (fn: () => Promise<void> | void) => void }, l: Lab, opts: { limits?: Partial<ResponderLimits>; upstreams?: Server[]; networks?: NetworkConfig[] } = {}) {
  const responder = new DnsResponder({ port: l.port, upstreams: opts.upstreams ?? [{ address: l.upstream, port: l.port }], ...(opts.limits ? { limits: opts.limits } : {}) });
  t.teardown(() => responder.close());
  const status = await responder.setNetworks(opts.networks ?? [
    { name: 'app', listen: [l.net1] },
    { name: 'other', listen: [l.net2] },
  ]);
  if (!status.every((s) => s.listening)) throw new Error(`listeners: ${JSON.stringify(status)}`);
  responder.setRecords('app', appRecords(l));
  responder.setRecords('other', otherRecords);
  return responder;
}

// ---- in-process responder -----------------------------------------------------------------------

test('A and AAAA for names, aliases and short ids on their own network only', async (t) => {
  const l = await lab();
  const upstream = await standInUpstream(l.upstream, l.port);
  t.teardown(upstream.close);
  await startResponder(t, l);
  const net1 = { address: l.net1, port: l.port };
  const net2 = { address: l.net2, port: l.port };

  const a = await ask(net1, 'web');
  t.like(a, { rcode: 'NOERROR', flag_aa: true, flag_ra: true });
  t.deepEqual(dataOf(a), ['10.89.0.2']);
  t.deepEqual(a.answers?.map((x) => 'ttl' in x && x.ttl), [60]);
  t.deepEqual(dataOf(await ask(net1, 'web', 'AAAA')), ['fd89::2']);
  t.deepEqual(dataOf(await ask(net1, 'WWW.')), ['10.89.0.2']);
  t.deepEqual(dataOf(await ask(net1, '0a1b2c3d4e5f')), ['10.89.0.2']);
  t.deepEqual(dataOf(await ask(net2, 'cache')), ['10.90.0.2']);

  for (const name of ['web', 'www', 'db', '0a1b2c3d4e5f']) t.like(await ask(net2, name), { rcode: 'NXDOMAIN', answers: [] }, name);
  t.like(await ask(net1, 'cache'), { rcode: 'NXDOMAIN' });
  t.deepEqual(upstream.seen, []);
});

test('a known container sees only its own networks, whichever listener it asks', async (t) => {
  const l = await lab();
  await startResponder(t, l);
  // client1 is "asker" on network app: asking network other's listener teaches it nothing of other.
  const net2 = { address: l.net2, port: l.port };
  t.deepEqual(dataOf(await ask(net2, 'web', 'A', { from: l.client1 })), ['10.89.0.2']);
  t.like(await ask(net2, 'cache', 'A', { from: l.client1 }), { rcode: 'NXDOMAIN' });
});

test('a network that declares its subnets refuses unknown sources outside them', async (t) => {
  const l = await lab();
  await startResponder(t, l, { networks: [{ name: 'app', listen: [l.net1], subnets: ['10.89.0.0/24'] }] });
  const net1 = { address: l.net1, port: l.port };
  t.like(await ask(net1, 'web', 'A', { from: l.client2 }), { rcode: 'REFUSED', answers: [] });
  t.deepEqual(dataOf(await ask(net1, 'web', 'A', { from: l.client1 })), ['10.89.0.2']); // a recorded container is known
});

test('unknown single-label names are NXDOMAIN without asking upstream; external names are forwarded', async (t) => {
  const l = await lab();
  const upstream = await standInUpstream(l.upstream, l.port);
  t.teardown(upstream.close);
  await startResponder(t, l);
  const net1 = { address: l.net1, port: l.port };

  t.like(await ask(net1, 'nosuch'), { rcode: 'NXDOMAIN', flag_aa: true });
  t.deepEqual(upstream.seen, []);
  const ext = await ask(net1, 'Service.Example.Test');
  t.like(ext, { rcode: 'NOERROR', flag_aa: false });
  t.deepEqual(dataOf(ext), ['192.0.2.1']);
  t.deepEqual(ext.questions?.map((q) => q.name), ['Service.Example.Test']);
  t.like(await ask(net1, 'missing.invalid'), { rcode: 'NXDOMAIN' }); // the upstream's own NXDOMAIN, relayed
  t.deepEqual(dataOf(await ask(net1, 'tcp.example.test', 'A', { tcp: true })), ['192.0.2.1']);
  t.deepEqual(upstream.seen, ['Service.Example.Test', 'missing.invalid', 'tcp.example.test']);
});

test("a container's own --dns servers take its forwards", async (t) => {
  const l = await lab();
  const global = await standInUpstream(l.upstream, l.port);
  const own = await standInUpstream(l.upstream2, l.port, { answer: '192.0.2.99' });
  t.teardown(global.close);
  t.teardown(own.close);
  const responder = await startResponder(t, l);
  responder.setRecords('app', [...appRecords(l), { id: 'e'.repeat(64), name: 'custom', ipv4: [l.client2], dnsServers: [`${own.server.address}:${l.port}`] }]);
  t.deepEqual(dataOf(await ask({ address: l.net1, port: l.port }, 'x.example.test', 'A', { from: l.client2 })), ['192.0.2.99']);
  t.deepEqual([global.seen, own.seen], [[], ['x.example.test']]);
});

test('PTR for container addresses, IPv4 and IPv6, on the asking network only', async (t) => {
  const l = await lab();
  const upstream = await standInUpstream(l.upstream, l.port);
  t.teardown(upstream.close);
  await startResponder(t, l, { networks: [{ name: 'app', listen: [l.net1], domain: 'dns.ctnet' }, { name: 'other', listen: [l.net2] }] });
  const net1 = { address: l.net1, port: l.port };
  t.deepEqual(dataOf(await ask(net1, '2.0.89.10.in-addr.arpa', 'PTR')), ['web.dns.ctnet']);
  t.deepEqual(dataOf(await ask(net1, `${[...'fd890000000000000000000000000002'].reverse().join('.')}.ip6.arpa`, 'PTR')), ['web.dns.ctnet']);
  t.deepEqual(dataOf(await ask(net1, 'web.dns.ctnet')), ['10.89.0.2']);
  t.deepEqual(dataOf(await ask({ address: l.net2, port: l.port }, '2.0.90.10.in-addr.arpa', 'PTR')), ['cache']);
  // network other's address, asked on app: not answered here, so it goes upstream.
  await ask(net1, '2.0.90.10.in-addr.arpa', 'PTR');
  t.deepEqual(upstream.seen, ['2.0.90.10.in-addr.arpa']);
});

test('TCP queries, and a large answer: truncated over UDP, whole over TCP', async (t) => {
  const l = await lab();
  const upstream = await standInUpstream(l.upstream, l.port);
  t.teardown(upstream.close);
  const responder = await startResponder(t, l);
  const many = Array.from({ length: 40 }, (_, i) => ({ id: `f${String(i).padStart(63, '0')}`, name: `replica${i}`, aliases: ['pool'], ipv4: [`10.89.1.${i + 1}`] }));
  responder.setRecords('app', [...appRecords(l), ...many]);
  const net1 = { address: l.net1, port: l.port };

  t.deepEqual(dataOf(await ask(net1, 'web', 'A', { tcp: true })), ['10.89.0.2']);
  const udp = await ask(net1, 'pool');
  t.true(udp.flag_tc);
  t.true((udp.answers?.length ?? 0) < 40);
  const udpEdns = await ask(net1, 'pool', 'A', { edns: 1232 });
  t.false(udpEdns.flag_tc); // 40 A records fit in 1232 bytes
  t.is(udpEdns.answers?.length, 40);
  const tcp = await ask(net1, 'pool', 'A', { tcp: true });
  t.false(tcp.flag_tc);
  t.is(tcp.answers?.length, 40);

  // The same for a forwarded answer larger than the client takes over UDP.
  const bigUdp = await ask(net1, 'big.example.test');
  t.true(bigUdp.flag_tc);
  t.is(bigUdp.answers?.length, 0);
  const bigTcp = await ask(net1, 'big.example.test', 'A', { tcp: true });
  t.is(bigTcp.answers?.length, 60);
});

// Serial: the burst fills the responder's socket buffer (UDP drops the excess, as it would in a
// real flood), and the timing assertions of the other tests should not pay for it.
test.serial('garbage, oversized queries and a burst of 2,000 do not stop it answering', async (t) => {
  const l = await lab();
  const upstream = await standInUpstream(l.upstream, l.port);
  t.teardown(upstream.close);
  const responder = await startResponder(t, l);
  const net1 = { address: l.net1, port: l.port };

  const sock = dgram.createSocket('udp4');
  t.teardown(() => sock.close());
  let answered = 0;
  sock.on('message', () => answered++);
  await new Promise<void>((res) => sock.bind(0, l.client2, res));
  const send = (m: Buffer) => new Promise<void>((res) => sock.send(m, l.port, l.net1, () => res()));

  // Garbage of every length up to a header and beyond, a self-referencing compression pointer,
  // a response instead of a query, and an 8 KiB datagram.
  for (let n = 0; n < 64; n++) await send(Buffer.from(Array.from({ length: n * 7 }, (_, i) => (i * 31 + n) & 0xff)));
  await send(Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]));
  await send(dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'web' }] }));
  await send(Buffer.concat([queryMessage('web', 'A'), Buffer.alloc(8192)]));
  t.deepEqual(dataOf(await ask(net1, 'web')), ['10.89.0.2']);

  // Over TCP: garbage in a frame, then a frame announcing more than the limit (the connection is closed).
  await new Promise<void>((res) => {
    const c = net.connect({ host: l.net1, port: l.port }, () => c.write(Buffer.concat([frame(Buffer.from('not dns at all')), Buffer.from([0xff, 0xff, 1, 2, 3])])));
    c.on('error', () => undefined);
    c.on('close', () => res());
  });
  t.deepEqual(dataOf(await ask(net1, 'web', 'A', { tcp: true })), ['10.89.0.2']);

  // A burst of 2,000 queries from one socket, without waiting.
  const started = Date.now();
  const burst = queryMessage('db', 'A');
  for (let i = 0; i < 2000; i++) sock.send(burst, l.port, l.net1);
  // UDP drops what a full socket buffer cannot hold, this query too maybe: ask again as a resolver would.
  await until('an answer after the burst', async () => (await ask(net1, 'web', 'A', { timeoutMs: 300 }).catch(() => undefined))?.rcode === 'NOERROR', 5000);
  await until('the burst to be answered', () => answered > 0, 2000);
  t.true(Date.now() - started < 10_000);
  t.true(responder.stats().dropped >= 60);
  t.deepEqual(upstream.seen, []);
});

test('pending forwards are bounded when the upstream never answers', async (t) => {
  // Generous, so a loaded machine still tells "refused at once" from "failed at the timeout".
  const TIMEOUT = 2500;
  const l = await lab();
  const upstream = await standInUpstream(l.upstream, l.port, { silent: true });
  t.teardown(upstream.close);
  const responder = await startResponder(t, l, { limits: { maxPending: 8, timeoutMs: TIMEOUT } });
  const net1 = { address: l.net1, port: l.port };

  const started = Date.now();
  const answers = Array.from({ length: 20 }, (_, i) => ask(net1, `name${i}.example.test`, 'A', { timeoutMs: TIMEOUT * 3 }).then((p) => ({ rcode: p.rcode, ms: Date.now() - started })));
  await until('8 forwards at the upstream', () => upstream.seen.length >= 8, TIMEOUT * 0.8);
  t.is(responder.stats().pendingForwards, 8);
  t.is(upstream.seen.length, 8);
  // Local names are still answered while the forwards wait.
  t.deepEqual(dataOf(await ask(net1, 'web')), ['10.89.0.2']);
  const results = await Promise.all(answers);
  t.true(results.every((r) => r.rcode === 'SERVFAIL'));
  const [early, late] = [results.filter((r) => r.ms < TIMEOUT * 0.8), results.filter((r) => r.ms >= TIMEOUT * 0.95)];
  t.is(early.length, 12, 'the excess is refused at once');
  t.is(late.length, 8, 'the pending ones fail at their timeout');
  t.is(responder.stats().pendingForwards, 0);
  t.like(responder.stats(), { busy: 12, failed: 8 });
});

test('the TCP connection count is bounded, and idle connections are closed', async (t) => {
  const l = await lab();
  // The idle timeout leaves room for a loaded machine to show the refusal of the extras first.
  const IDLE = 4000;
  const responder = await startResponder(t, l, { limits: { maxConnections: 3, idleTimeoutMs: IDLE } });
  const sockets = await Promise.all(
    Array.from({ length: 5 }, () => new Promise<net.Socket>((res) => {
      const c = net.connect({ host: l.net1, port: l.port }, () => res(c));
      c.on('error', () => undefined);
    })),
  );
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const closed = (s: net.Socket) => s.destroyed || s.readableEnded;
  await until('the two extra connections to be closed', () => sockets.filter(closed).length === 2, IDLE * 0.75);
  t.is(responder.stats().tcpConnections, 3);
  const idle = await until('the idle connections to be closed', () => responder.stats().tcpConnections === 0, IDLE * 3);
  t.true(idle > IDLE * 0.25, 'not before their idle timeout');
  await until('the clients to see it', () => sockets.every(closed), IDLE);
  t.deepEqual(dataOf(await ask({ address: l.net1, port: l.port }, 'web', 'A', { tcp: true })), ['10.89.0.2']);
});

test('a network dropped from the config stops being served at once, open connections and all', async (t) => {
  const l = await lab();
  const responder = await startResponder(t, l);
  const conn = await new Promise<net.Socket>((res) => {
    const c = net.connect({ host: l.net2, port: l.port }, () => res(c));
    c.on('error', () => undefined);
  });
  t.teardown(() => conn.destroy());
  const started = Date.now();
  t.deepEqual(await responder.setNetworks([{ name: 'app', listen: [l.net1] }]), [{ network: 'app', address: l.net1, port: l.port, listening: true }]);
  t.true(Date.now() - started < 2000, 'at once, not after an idle timeout');
  t.true(await portsFree(l.net2, l.port));
  t.deepEqual(dataOf(await ask({ address: l.net1, port: l.port }, 'web')), ['10.89.0.2']);
});

// ---- the daemon ---------------------------------------------------------------------------------

interface Daemon {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

function startDaemon(t: { teardown: (fn: () => void) => void }, stateDir: string): Daemon {
  const child = spawn(process.execPath, ['--import=tsx', join(repoRoot, 'dns', 'daemon.ts'), '--state-dir', stateDir], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exited, stderr: () => stderr };
}

function stateDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-dns-daemon-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function portsFree(address: string, port: number): Promise<boolean> {
  const udpFree = await new Promise<boolean>((res) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => res(false));
    s.bind(port, address, () => s.close(() => res(true)));
  });
  const tcpFree = await new Promise<boolean>((res) => {
    const s = net.createServer();
    s.once('error', () => res(false));
    s.listen(port, address, () => s.close(() => res(true)));
  });
  return udpFree && tcpFree;
}

test('daemon: serves from the state files, follows record changes within a second, SIGTERM cleans up', async (t) => {
  const l = await lab();
  const upstream = await standInUpstream(l.upstream, l.port);
  t.teardown(upstream.close);
  const dir = stateDir(t);
  const paths = dnsStatePaths(dir);
  const net1 = { address: l.net1, port: l.port };
  writeResponderFile(dir, { port: l.port, upstreams: [`${l.upstream}:${l.port}`], networks: [{ name: 'app', listen: [l.net1] }] });
  writeRecordsFile(dir, 'app', appRecords(l));

  const daemon = startDaemon(t, dir);
  await until('the daemon to be ready', () => readyPid(paths.pidFile) === daemon.child.pid);
  t.is(readFileSync(paths.pidFile, 'utf8'), `${daemon.child.pid}\nready\n`);
  t.deepEqual(dataOf(await ask(net1, 'db')), ['10.89.0.3']);
  t.deepEqual(dataOf(await ask(net1, 'x.example.test')), ['192.0.2.1']);

  // A container leaves: its name stops resolving within a second.
  writeRecordsFile(dir, 'app', appRecords(l).filter((c) => c.name !== 'db'));
  const gone = await until('db to disappear', async () => (await ask(net1, 'db')).rcode === 'NXDOMAIN', 1000);
  t.true(gone < 1000, `took ${gone} ms`);
  t.deepEqual(dataOf(await ask(net1, 'web')), ['10.89.0.2']);

  // A broken records file is logged and the previous records stay.
  writeFileSync(paths.records('app'), '{ not json');
  await until('the complaint', () => daemon.stderr().includes('keeping the previous records'), 2000);
  t.deepEqual(dataOf(await ask(net1, 'web')), ['10.89.0.2']);
  // So is a config that does not validate.
  writeFileSync(paths.config, JSON.stringify({ version: 1, networks: [{ name: 'app', listen: ['not-an-address'] }] }));
  await until('the complaint', () => daemon.stderr().includes('keeping the previous config'), 2000);
  t.deepEqual(dataOf(await ask(net1, 'web')), ['10.89.0.2']);

  // A second network appears in the config: its listener opens and serves its own records.
  writeRecordsFile(dir, 'other', otherRecords);
  writeResponderFile(dir, { port: l.port, upstreams: [`${l.upstream}:${l.port}`], networks: [{ name: 'app', listen: [l.net1] }, { name: 'other', listen: [l.net2] }] });
  await until('network other', async () => (await ask({ address: l.net2, port: l.port }, 'cache', 'A', { timeoutMs: 200 }).catch(() => undefined))?.rcode === 'NOERROR', 2000);
  t.like(await ask({ address: l.net2, port: l.port }, 'web'), { rcode: 'NXDOMAIN' });

  daemon.child.kill('SIGTERM');
  t.is(await daemon.exited, 0);
  t.false(existsSync(paths.pidFile));
  t.true(await portsFree(l.net1, l.port));
  t.true(await portsFree(l.net2, l.port));
  t.regex(daemon.stderr(), /stopping: SIGTERM/);
});

test('daemon: exits by itself when its config lists no network, and does not start without one', async (t) => {
  const l = await lab();
  const dir = stateDir(t);
  const paths = dnsStatePaths(dir);

  const idle = startDaemon(t, dir);
  t.is(await idle.exited, 0);
  t.regex(idle.stderr(), /no network to serve/);

  writeResponderFile(dir, { port: l.port, upstreams: [], networks: [{ name: 'app', listen: [l.net1] }] });
  const daemon = startDaemon(t, dir);
  await until('the daemon to be ready', () => readyPid(paths.pidFile) === daemon.child.pid);
  // A second daemon for the same state dir refuses to run.
  const second = startDaemon(t, dir);
  t.is(await second.exited, 1);
  t.regex(second.stderr(), /already runs/);
  t.true(existsSync(paths.pidFile));

  writeResponderFile(dir, { port: l.port, upstreams: [], networks: [] });
  const started = Date.now();
  t.is(await daemon.exited, 0);
  t.true(Date.now() - started < 2000);
  t.false(existsSync(paths.pidFile));
  t.true(await portsFree(l.net1, l.port));
  t.regex(daemon.stderr(), /no network left/);
});

test('ensureResponder starts one daemon however many callers race, and stopResponder ends it', async (t) => {
  const l = await lab();
  const dir = stateDir(t);
  const paths = dnsStatePaths(dir);
  writeResponderFile(dir, { port: l.port, upstreams: [], networks: [{ name: 'app', listen: [l.net1] }] });
  writeRecordsFile(dir, 'app', appRecords(l));
  const logFile = join(dir, 'responder.log');
  const launch = { command: [process.execPath, '--import=tsx', join(repoRoot, 'dns', 'daemon.ts')] as [string, ...string[]], logFile, timeoutMs: 8000 };
  const started = await Promise.all([ensureResponder(dir, launch), ensureResponder(dir, launch)]);
  t.teardown(() => {
    const pid = readyPid(paths.pidFile);
    if (pid === started[0]?.pid) process.kill(pid, 'SIGKILL');
  });
  t.is(started[0]?.pid, started[1]?.pid);
  t.true(started.filter((s) => s.started).length <= 1);
  t.deepEqual(dataOf(await ask({ address: l.net1, port: l.port }, 'web')), ['10.89.0.2']);
  t.deepEqual(await ensureResponder(dir, launch), { pid: started[0]?.pid, started: false });

  t.true(await stopResponder(dir));
  t.false(existsSync(paths.pidFile));
  t.true(await portsFree(l.net1, l.port));
  t.false(await stopResponder(dir));
  t.regex(readFileSync(logFile, 'utf8'), /listening on 127\.77\.\d+\.1 port \d+/);
});

test('ensureResponder reports a daemon that cannot start', async (t) => {
  const dir = stateDir(t);
  const launch = { command: [process.execPath, '--import=tsx', join(repoRoot, 'dns', 'daemon.ts')] as [string, ...string[]], timeoutMs: 8000 };
  // No responder.json: the daemon has nothing to serve and exits.
  await t.throwsAsync(ensureResponder(dir, launch), { message: /exited at start \(status 0\)/ });
});
