// The rtnetlink layer against real kernel objects in sandbox namespaces: every socket here is opened
// in a sandbox namespace, so no request can reach the test process's own one. iproute2 (through
// sb.exec) is the independent witness of what the library did; socat carries real TCP over the result.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import {
  NetNs,
  NetlinkError,
  Rtnl,
  addAddress,
  addRoute,
  createBridge,
  createVeth,
  deleteAddress,
  deleteLink,
  deleteRoute,
  ensureBridge,
  forwardingOn,
  getBridgePort,
  getLink,
  ipv4DevConf,
  listAddresses,
  listLinks,
  listRoutes,
  setBridgePort,
  setLink,
  waitForLinkUp,
  withRtnl,
} from '../netlink/index.js';
import { AddonSocket } from '../netlink/addon-socket.js';
import { NLM_F, RTM, ifinfomsg } from '../netlink/wire.js';
import { Sandbox, type Container } from './sandbox.js';

interface Host {
  sb: Sandbox;
  ns: NetNs;
  /** An rtnetlink socket in the sandbox's host namespace. */
  rtnl: Rtnl;
}

async function host(t: ExecutionContext): Promise<Host> {
  const sb = await Sandbox.create(t);
  const ns = NetNs.open(sb.hostPath);
  const rtnl = Rtnl.open(ns);
  t.teardown(() => {
    rtnl.close();
    ns.close();
  });
  return { sb, ns, rtnl };
}

interface Attached extends Container {
  ns: NetNs;
  rtnl: Rtnl;
}

/** What the bridge plugin will do for one container: veth into it, port on the bridge, addresses, routes. */
async function attach(t: ExecutionContext, h: Host, n: number, opts: { hairpin?: boolean } = {}): Promise<Attached> {
  const c = await h.sb.container(`c${n}`);
  const ns = NetNs.open(c.path);
  const rtnl = Rtnl.open(ns);
  t.teardown(() => {
    rtnl.close();
    ns.close();
  });
  await createVeth(h.rtnl, { name: `veth${n}`, mtu: 1400, up: true, peer: { name: 'eth0', ns, mac: `02:42:0a:58:01:0${n}` } });
  await setLink(h.rtnl, `veth${n}`, { master: 'cni0' });
  if (opts.hairpin) await setBridgePort(h.rtnl, `veth${n}`, { hairpin: true });
  await setLink(rtnl, 'lo', { up: true });
  await setLink(rtnl, 'eth0', { up: true });
  await addAddress(rtnl, 'eth0', `10.88.0.${n + 1}/24`);
  await addAddress(rtnl, 'eth0', `fd88::${n + 1}/64`, { nodad: true });
  await addRoute(rtnl, { dst: 'default', gateway: '10.88.0.1', dev: 'eth0' });
  await addRoute(rtnl, { dst: 'default', gateway: 'fd88::1', dev: 'eth0' });
  await waitForLinkUp(rtnl, 'eth0');
  return { ...c, ns, rtnl };
}

async function bridge(h: Host) {
  const br = await createBridge(h.rtnl, { name: 'cni0', mtu: 1400, mac: '02:42:0a:58:00:01', up: true });
  await addAddress(h.rtnl, 'cni0', '10.88.0.1/24');
  await addAddress(h.rtnl, 'cni0', 'fd88::1/64', { nodad: true });
  return br;
}

type IpJson = Record<string, unknown> & { flags?: string[] };

/** `ip -j -d ...` output: iproute2's view, to check the library against. */
async function ipJson(h: Host, args: string[], nsPath?: string): Promise<IpJson[]> {
  return JSON.parse((await h.sb.exec('ip', ['-j', '-d', ...args], nsPath)).stdout);
}

test('a bridge is created with its MTU, MAC and state, as iproute2 sees it', async (t) => {
  const h = await host(t);
  const br = await bridge(h);
  t.like(br, { name: 'cni0', kind: 'bridge', mtu: 1400, mac: '02:42:0a:58:00:01', up: true, master: undefined });
  const [shown] = await ipJson(h, ['link', 'show', 'cni0']);
  t.like(shown, { ifindex: br.index, mtu: 1400, address: '02:42:0a:58:00:01', linkinfo: { info_kind: 'bridge' } });
  t.true(shown?.flags?.includes('UP'));
  const global = (await listAddresses(h.rtnl, { link: 'cni0' })).filter((a) => !a.address.startsWith('fe80'));
  t.deepEqual(global.map((a) => a.cidr), ['10.88.0.1/24', 'fd88::1/64']);
  t.true((await listLinks(h.rtnl)).some((l) => l.name === 'cni0' && l.index === br.index));
});

test('a veth peer is created directly in the container, attached, configured and up', async (t) => {
  const h = await host(t);
  const br = await bridge(h);
  const c = await attach(t, h, 1, { hairpin: true });

  const hostEnd = await getLink(h.rtnl, 'veth1');
  const peer = await getLink(c.rtnl, 'eth0');
  t.like(hostEnd, { kind: 'veth', mtu: 1400, master: br.index, operstate: 'up', parentIndex: peer?.index });
  t.like(peer, { kind: 'veth', mtu: 1400, mac: '02:42:0a:58:01:01', operstate: 'up', parentIndex: hostEnd?.index });
  t.is(await getLink(h.rtnl, 'eth0'), null, 'the peer never existed in the host namespace');

  const [shownPeer] = await ipJson(h, ['link', 'show', 'eth0'], c.path);
  t.like(shownPeer, { mtu: 1400, address: '02:42:0a:58:01:01', operstate: 'UP' });
  const [shownPort] = await ipJson(h, ['link', 'show', 'veth1']);
  t.like(shownPort, { master: 'cni0', linkinfo: { info_slave_kind: 'bridge', info_slave_data: { hairpin: true, isolated: false } } });
  t.like(await getBridgePort(h.rtnl, 'veth1'), { hairpin: true, isolated: false, state: 'forwarding' });

  t.deepEqual(
    (await listAddresses(c.rtnl, { link: 'eth0' })).filter((a) => !a.address.startsWith('fe80')).map((a) => [a.cidr, a.flags.nodad]),
    [['10.88.0.2/24', false], ['fd88::2/64', true]],
  );
  const defaults = (await listRoutes(c.rtnl)).filter((r) => r.dst === '0.0.0.0/0' || r.dst === '::/0');
  t.deepEqual(
    defaults.map((r) => [r.dst, r.gateway, r.dev, r.type, r.protocol]),
    [['0.0.0.0/0', '10.88.0.1', peer?.index, 'unicast', 3], ['::/0', 'fd88::1', peer?.index, 'unicast', 3]],
  );
  const shownRoutes = await ipJson(h, ['route', 'show', 'default'], c.path);
  t.like(shownRoutes[0], { dst: 'default', gateway: '10.88.0.1', dev: 'eth0' });
});

test('port settings: hairpin and isolation on and off, as the bridge tool sees them', async (t) => {
  const h = await host(t);
  await bridge(h);
  await attach(t, h, 1);
  const shown = async () => {
    const [port] = JSON.parse((await h.sb.exec('bridge', ['-j', '-d', 'link', 'show', 'dev', 'veth1'])).stdout);
    return { hairpin: port.hairpin, isolated: port.isolated };
  };
  t.deepEqual(await shown(), { hairpin: false, isolated: false });
  await setBridgePort(h.rtnl, 'veth1', { hairpin: true, isolated: true });
  t.deepEqual(await shown(), { hairpin: true, isolated: true });
  t.like(await getBridgePort(h.rtnl, 'veth1'), { hairpin: true, isolated: true });
  await setBridgePort(h.rtnl, 'veth1', { isolated: false });
  t.deepEqual(await shown(), { hairpin: true, isolated: false });
  t.is(await getBridgePort(h.rtnl, 'cni0'), null, 'a bridge is not a port');
});

test('real TCP: container to container over the bridge, and to the gateway, on IPv4 and IPv6', async (t) => {
  const h = await host(t);
  await bridge(h);
  // Reachable only through the containers' default routes (not on their subnet).
  await addAddress(h.rtnl, 'cni0', '10.99.0.1/32');
  const c1 = await attach(t, h, 1);
  const c2 = await attach(t, h, 2);
  await h.sb.echoServer(7000, c1.path);
  await h.sb.echoServer(7001);
  t.is(await h.sb.send(c2.path, '10.88.0.2', 7000, 'c2 to c1 over v4'), 'c2 to c1 over v4');
  t.is(await h.sb.send(c2.path, 'fd88::2', 7000, 'c2 to c1 over v6'), 'c2 to c1 over v6');
  t.is(await h.sb.send(c1.path, '10.88.0.1', 7001, 'c1 to gateway v4'), 'c1 to gateway v4');
  t.is(await h.sb.send(c1.path, 'fd88::1', 7001, 'c1 to gateway v6'), 'c1 to gateway v6');
  t.is(await h.sb.send(c2.path, '10.99.0.1', 7001, 'c2 via default route'), 'c2 via default route');
});

const NLMSG_DONE = 3; // linux/netlink.h

for (const blocking of [false, true]) {
  test(`a dump from the addon (${blocking ? 'blocking the caller' : 'on a pool thread'}) with a filter brings back only the replies holding its bytes, and the DONE`, async (t) => {
    const h = await host(t);
    for (const name of ['keepme0', 'dropme0', 'keepme1', 'dropme1']) await h.sb.exec('ip', ['link', 'add', name, 'type', 'bridge']);
    const socket = new AddonSocket(h.ns, 0 /* NETLINK_ROUTE */, { blocking });
    t.teardown(() => socket.close());
    const dump = (keep?: Buffer) => socket.transact('dump links', [{ type: RTM.GETLINK, flags: NLM_F.DUMP, payload: [ifinfomsg({})] }], keep);
    const names = (replies: { type: number; data: Buffer }[]) => replies.filter((r) => r.type === RTM.NEWLINK).map((r) => ['keepme0', 'dropme0', 'keepme1', 'dropme1', 'lo'].find((n) => r.data.includes(`${n}\0`)));

    t.deepEqual(names(await dump()).sort(), ['dropme0', 'dropme1', 'keepme0', 'keepme1', 'lo']);
    const kept = await dump(Buffer.from('keepme'));
    t.deepEqual(names(kept), ['keepme0', 'keepme1']);
    t.is(kept.at(-1)?.type, NLMSG_DONE);
  });
}

test('errors carry the errno code and name the operation and object', async (t) => {
  const h = await host(t);
  await bridge(h);
  const c = await attach(t, h, 1);
  const fails = async (p: Promise<unknown>, code: string, message: RegExp) => {
    const err = await t.throwsAsync(p, { instanceOf: NetlinkError, message });
    t.is(err?.code, code);
    return err;
  };
  const eexist = await fails(createBridge(h.rtnl, { name: 'cni0' }), 'EEXIST', /^create bridge cni0: EEXIST \(File exists\)$/);
  t.is(eexist?.errno, 17);
  await fails(createVeth(h.rtnl, { name: 'veth9', peer: { name: 'eth0', ns: c.ns } }), 'EEXIST', /^create veth veth9 \(peer eth0 in \/run\/netns\/.*\): EEXIST/);
  t.is(await getLink(h.rtnl, 'veth9'), null, 'a failed veth leaves no host end behind');
  await fails(ensureBridge(h.rtnl, { name: 'veth1' }), 'EEXIST', /veth1 exists and is a veth, not a bridge/);
  await fails(deleteLink(h.rtnl, 'nope0'), 'ENODEV', /^delete link nope0: ENODEV \(No such device\)$/);
  await fails(setLink(h.rtnl, 'nope0', { up: true }), 'ENODEV', /^set link nope0 up: ENODEV/);
  await fails(setLink(h.rtnl, 'veth1', { master: 'nobridge' }), 'ENODEV', /^set link veth1 master nobridge: ENODEV \(no link nobridge in/);
  await fails(addAddress(c.rtnl, 'eth0', '10.88.0.2/24'), 'EEXIST', /^add address 10.88.0.2\/24 to eth0: EEXIST/);
  await fails(deleteAddress(c.rtnl, 'eth0', '10.88.0.200/24'), 'EADDRNOTAVAIL', /^delete address 10.88.0.200\/24 from eth0: EADDRNOTAVAIL/);
  await fails(addRoute(c.rtnl, { dst: 'default', gateway: '10.88.0.1', dev: 'eth0' }), 'EEXIST', /^add route default via 10.88.0.1 dev eth0: EEXIST/);
  await fails(deleteRoute(c.rtnl, { dst: '10.77.0.0/16' }), 'ESRCH', /^delete route 10.77.0.0\/16: ESRCH/);
  await fails(setBridgePort(h.rtnl, 'lo', { hairpin: true }), 'EOPNOTSUPP', /^set bridge port lo hairpin on: EOPNOTSUPP/);
  await fails(createBridge(h.rtnl, { name: 'a-name-too-long-for-linux' }), 'EINVAL', /longer than 15 bytes/);
  await setLink(h.rtnl, 'veth1', { up: false });
  await fails(waitForLinkUp(h.rtnl, 'veth1', { timeoutMs: 150 }), 'ETIMEDOUT', /^wait for link veth1 to come up: ETIMEDOUT \(still admin down, operstate down after 150 ms\)$/);
  await fails(waitForLinkUp(h.rtnl, 'nope0'), 'ENODEV', /^wait for link nope0 to come up: ENODEV/);

  t.is(await getLink(h.rtnl, 'nope0'), null);
  t.false(await deleteLink(h.rtnl, 'nope0', { ignoreMissing: true }));
  t.false(await deleteAddress(c.rtnl, 'eth0', '10.88.0.200/24', { ignoreMissing: true }));
  t.false(await deleteRoute(c.rtnl, { dst: '10.77.0.0/16' }, { ignoreMissing: true }));
  t.false(await deleteRoute(c.rtnl, { dst: 'fd77::/64' }, { ignoreMissing: true }));

  const closed = Rtnl.open(c.ns);
  closed.close();
  await fails(listLinks(closed), 'EBADF', /^list links: EBADF \(rtnetlink socket for .* is closed\)$/);
});

test('link changes: MTU, MAC, promiscuity, up/down and release from the bridge', async (t) => {
  const h = await host(t);
  await bridge(h);
  await attach(t, h, 1);
  await setLink(h.rtnl, 'veth1', { mtu: 1300, mac: '02:00:00:00:00:99', promisc: true, up: false, master: null });
  t.like(await getLink(h.rtnl, 'veth1'), { mtu: 1300, mac: '02:00:00:00:00:99', promisc: true, up: false, master: undefined });
  const [shown] = await ipJson(h, ['link', 'show', 'veth1']);
  t.like(shown, { mtu: 1300, address: '02:00:00:00:00:99' });
  t.true(shown?.flags?.includes('PROMISC'));
  t.is(shown?.master, undefined);
  await setLink(h.rtnl, 'veth1', { promisc: false, up: true, master: 'cni0' });
  t.like(await waitForLinkUp(h.rtnl, 'veth1'), { promisc: false, up: true, operstate: 'up' });
});

test('IP settings read over netlink are the ones /proc/sys holds, off and on', async (t) => {
  const h = await host(t);
  await bridge(h);
  const sysctl = (kv: string) => h.sb.exec('sysctl', ['-qw', kv]);
  const read = async () => ({
    v4: await forwardingOn(h.rtnl, 4),
    v6: await forwardingOn(h.rtnl, 6),
    localnet: await ipv4DevConf(h.rtnl, 'cni0', 'route_localnet'),
    cni0Forwarding: await ipv4DevConf(h.rtnl, 'cni0', 'forwarding'),
  });
  // A new namespace forwards nothing.
  t.deepEqual(await read(), { v4: false, v6: false, localnet: 0, cni0Forwarding: 0 });
  await sysctl('net.ipv4.ip_forward=1');
  await sysctl('net.ipv4.conf.cni0.route_localnet=1');
  t.deepEqual(await read(), { v4: true, v6: false, localnet: 1, cni0Forwarding: 1 });
  await sysctl('net.ipv6.conf.all.forwarding=1');
  await sysctl('net.ipv4.conf.cni0.forwarding=0');
  // ip_forward is the "all" pseudo-device's value, which "default" follows until set apart.
  await sysctl('net.ipv4.conf.default.forwarding=0');
  t.deepEqual(await read(), { v4: true, v6: true, localnet: 1, cni0Forwarding: 0 });
  t.is(await ipv4DevConf(h.rtnl, 'nosuchlink', 'route_localnet'), undefined);
});

test('ensureBridge gets an existing bridge (bringing it up) and creates a missing one', async (t) => {
  const h = await host(t);
  await h.sb.exec('ip', ['link', 'add', 'br-old', 'mtu', '1450', 'type', 'bridge']);
  const old = await ensureBridge(h.rtnl, { name: 'br-old', mtu: 9000, up: true });
  t.like(old, { name: 'br-old', kind: 'bridge', mtu: 1450, up: true });
  const fresh = await ensureBridge(h.rtnl, { name: 'br-new', mtu: 1500 });
  t.like(fresh, { name: 'br-new', kind: 'bridge', mtu: 1500, up: false });
  t.is((await ensureBridge(h.rtnl, { name: 'br-new' })).index, fresh.index);
});

test('routes: on-link, metric, table, source, and deletion by the fields given', async (t) => {
  const h = await host(t);
  await bridge(h);
  const c = await attach(t, h, 1);
  await addRoute(c.rtnl, { dst: '10.50.0.0/16', dev: 'eth0' });
  await addRoute(c.rtnl, { dst: '10.51.0.7/16', gateway: '10.88.0.1', metric: 50, src: '10.88.0.2' });
  await addRoute(c.rtnl, { dst: '192.0.2.0/24', gateway: '198.51.100.1', dev: 'eth0', onLink: true });
  await addRoute(c.rtnl, { dst: 'fd50::/64', gateway: 'fd88::1', table: 1000 });
  const routes = await listRoutes(c.rtnl, { family: 4 });
  t.like(routes.find((r) => r.dst === '10.50.0.0/16'), { scope: 'link', gateway: undefined });
  t.like(routes.find((r) => r.dst === '10.51.0.0/16'), { scope: 'universe', gateway: '10.88.0.1', metric: 50, src: '10.88.0.2' });
  t.like(routes.find((r) => r.dst === '192.0.2.0/24'), { gateway: '198.51.100.1', onLink: true });
  t.false((await listRoutes(c.rtnl, { family: 6 })).some((r) => r.dst === 'fd50::/64'), 'not in main');
  t.like((await listRoutes(c.rtnl, { table: 1000 }))[0], { dst: 'fd50::/64', table: 1000, gateway: 'fd88::1' });
  t.true((await listRoutes(c.rtnl, { table: 'all' })).some((r) => r.table === 255), 'the local table is listed under all');
  const [shown] = await ipJson(h, ['-6', 'route', 'show', 'table', '1000'], c.path);
  t.like(shown, { dst: 'fd50::/64', gateway: 'fd88::1' });

  t.true(await deleteRoute(c.rtnl, { dst: '10.51.0.0/16' }));
  t.true(await deleteRoute(c.rtnl, { dst: 'fd50::/64', table: 1000 }));
  t.false((await listRoutes(c.rtnl, { table: 'all' })).some((r) => r.dst === '10.51.0.0/16' || r.dst === 'fd50::/64'));
});

test('deleting a veth end removes its peer in the container; deleting the bridge removes it', async (t) => {
  const h = await host(t);
  await bridge(h);
  const c = await attach(t, h, 1);
  t.true(await deleteLink(h.rtnl, 'veth1'));
  t.is(await getLink(c.rtnl, 'eth0'), null);
  t.true(await deleteLink(h.rtnl, 'cni0'));
  t.deepEqual((await listLinks(h.rtnl)).map((l) => l.name), ['lo']);
});

test('a link deletion leaves the main thread free: the event loop turns while the kernel works on it', async (t) => {
  const h = await host(t);
  await bridge(h);
  const c = await attach(t, h, 1);
  // The deletion is queued when its turn in the socket's chain comes (a microtask); every turn of the
  // loop after that, until it is answered, is a turn a blocking sendmsg() would have taken away.
  let turns = 0;
  let done = false;
  const tick = () => setImmediate(() => !done && (turns++, tick()));
  const deletion = deleteLink(c.rtnl, 'eth0').finally(() => (done = true));
  tick();
  t.true(await deletion);
  t.true(turns > 0, 'no turn of the event loop while the veth was deleted');
  t.is(await getLink(h.rtnl, 'veth1'), null);
  await t.throwsAsync(deleteLink(c.rtnl, 'eth0'), { instanceOf: NetlinkError, message: /^delete link eth0: ENODEV/ });
});

/** This process's children (zombies included), from every thread's list. */
function children(): Set<number> {
  const tasks = readdirSync('/proc/self/task');
  return new Set(tasks.flatMap((id) => readFileSync(`/proc/self/task/${id}/children`, 'utf8').split(' ').filter(Boolean).map(Number)));
}

// Serial: the new children it sees must be its own deletions' clones, not another test's processes.
test.serial('a deletion by index is answered once the link is unregistered, before the kernel answers the clone that sent it', async (t) => {
  const h = await host(t);
  await bridge(h);
  const clones = new Map<number, string[]>();
  for (let n = 1; n <= 4; n++) {
    const c = await attach(t, h, n);
    const eth0 = await getLink(c.rtnl, 'eth0');
    const before = children();
    t.true(await deleteLink(c.rtnl, eth0!.index));
    // The clone still waits in the kernel (for ~13-40 ms); all it holds is the request's socket.
    for (const pid of [...children()].filter((p) => !before.has(p))) {
      try {
        clones.set(pid, readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`)));
      } catch {
        // exited and reaped between the two reads
      }
    }
    // Unregistered: both ends gone, as iproute2 sees it, and the bridge port with the host end.
    t.deepEqual((await ipJson(h, ['link', 'show'], c.path)).map((l) => l['ifname']), ['lo']);
    t.deepEqual(await ipJson(h, ['link', 'show', 'master', 'cni0']), []);
    t.is(await getLink(h.rtnl, `veth${n}`), null);
  }
  t.true(clones.size > 0, 'every deletion was answered only after its clone had exited');
  for (const fds of clones.values()) t.true(fds.length === 1 && fds[0]!.startsWith('socket:'), `a clone kept ${fds.join(', ')}`);
  // Each clone is reaped once the kernel has answered it: none is left behind, not even a zombie.
  const start = Date.now();
  const left = () => [...clones.keys()].filter((pid) => children().has(pid));
  while (left().length > 0 && Date.now() - start < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
  t.deepEqual(left(), []);

  // The kernel's refusals come back from the clone: the loopback cannot be deleted, a gone link is missing.
  const c = await attach(t, h, 5);
  const lo = await getLink(c.rtnl, 'lo');
  const refused = await t.throwsAsync(deleteLink(c.rtnl, lo!.index), { instanceOf: NetlinkError, message: /^delete link #1: EOPNOTSUPP/ });
  t.is(refused?.code, 'EOPNOTSUPP');
  await t.throwsAsync(deleteLink(c.rtnl, 999999), { instanceOf: NetlinkError, message: /^delete link #999999: ENODEV/ });
  t.false(await deleteLink(c.rtnl, 999999, { ignoreMissing: true }));
});

for (const thread of ['pool', 'caller'] as const) {
  test(`an Rtnl sending through the addon (from the ${thread} thread) answers as npm netlink's does: lookups, dumps, changes and errors`, async (t) => {
    const h = await host(t);
    await bridge(h);
    const c = await attach(t, h, 1);
    const addon = Rtnl.open(c.ns, { thread });
    t.teardown(() => addon.close());
    t.deepEqual(await getLink(addon, 'eth0'), await getLink(c.rtnl, 'eth0'));
    t.is(await getLink(addon, 'nope0'), null);
    t.deepEqual(await listLinks(addon), await listLinks(c.rtnl));
    t.deepEqual(await listAddresses(addon), await listAddresses(c.rtnl));
    await setLink(addon, 'eth0', { mtu: 1300 });
    t.is((await getLink(c.rtnl, 'eth0'))?.mtu, 1300);
    const err = await t.throwsAsync(addAddress(addon, 'eth0', '10.88.0.2/24'), { instanceOf: NetlinkError, message: /^add address 10.88.0.2\/24 to eth0: EEXIST/ });
    t.is(err?.errno, 17);
    t.true(await deleteLink(addon, 'eth0'));
    t.is(await getLink(h.rtnl, 'veth1'), null);
    t.false(await deleteLink(addon, 'eth0', { ignoreMissing: true }));
  });
}

test('requests on one socket are serialized: parallel dumps all succeed', async (t) => {
  const h = await host(t);
  await bridge(h);
  const links = (await listLinks(h.rtnl)).length;
  const addresses = (await listAddresses(h.rtnl)).length;
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? listLinks(h.rtnl) : listAddresses(h.rtnl))));
  t.deepEqual(
    results.map((r) => r.length),
    results.map((_, i) => (i % 2 ? links : addresses)),
  );
  t.true(await withRtnl(h.ns, async (rtnl) => (await getLink(rtnl, 'cni0')) !== null));
});
