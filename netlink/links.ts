// Network devices: find, list, create (bridge, veth pair), delete, change, and wait until up.
// Every function acts on the namespace of the Rtnl it is given.
import { NetlinkError, isNetlinkError } from './errors.js';
import { formatMac, parseMac } from './ip.js';
import type { NetNs } from './netns.js';
import type { Rtnl } from './rtnl.js';
import { AF_INET6, IFINFOMSG_LEN, IFLA_AF_SPEC, NLM_F, RTM, attrU32, decodeAttrs, encodeAttrs, ifinfomsg, parseIfinfomsg, readStr, str, u32, u8, type AttrList, type IfInfoMsg } from './wire.js';

const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  TXQLEN: 13,
  IFALIAS: 20,
  MASTER: 10,
  OPERSTATE: 16,
  LINKINFO: 18,
  NET_NS_FD: 28,
  EXT_MASK: 29,
} as const;
const IFLA_INET6_ADDR_GEN_MODE = 8;
/** linux/if_link.h enum in6_addr_gen_mode. */
const ADDR_GEN_MODE = { eui64: 0, none: 1 } as const;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

const IFF_UP = 0x1;
const IFF_PROMISC = 0x100;
const IFF_ALLMULTI = 0x200;
const IFF_LOWER_UP = 0x10000;

/** RFC 2863 operational states (IF_OPER_*), as iproute2 prints them. */
const OPER_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;
export type OperState = (typeof OPER_STATES)[number];

/** A link by name, or by index. */
export type LinkRef = string | number;

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND ("bridge", "veth", ...); undefined for physical devices and lo. */
  kind: string | undefined;
  mac: string | undefined;
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  operstate: OperState;
  /** Promiscuous mode as set by the user (not a bridge port's own promiscuity). */
  promisc: boolean;
  /** Receives all multicast (IFF_ALLMULTI). */
  allmulti: boolean;
  /** Transmit queue length. */
  txQLen: number;
  /** IFLA_IFALIAS: a free-text label (ctnet records an attachment's identity here). */
  alias: string | undefined;
  /** Index of the master device (the bridge of a port). */
  master: number | undefined;
  /** IFLA_LINK: a veth's peer (usually in another namespace), a vlan's parent. */
  parentIndex: number | undefined;
}

export function linkLabel(ref: LinkRef): string {
  return typeof ref === 'number' ? `#${ref}` : ref;
}

/** The kernel's dev_valid_name(), checked here so a bad name fails with a clear message. */
function checkName(name: string, op: string): void {
  const bad =
    name === '' || name === '.' || name === '..' ? 'empty or a dot name'
    : Buffer.byteLength(name) > 15 ? 'longer than 15 bytes'
    : /[/:\s]/.test(name) ? 'contains "/", ":" or whitespace'
    : undefined;
  if (bad) throw NetlinkError.of('EINVAL', op, `invalid interface name ${JSON.stringify(name)}: ${bad}`);
}

/** The ifinfomsg and attribute that select a link: an index, or IFLA_IFNAME with index 0. */
function select(ref: LinkRef, m: IfInfoMsg = {}): { header: Buffer; attrs: AttrList } {
  return typeof ref === 'number'
    ? { header: ifinfomsg({ ...m, index: ref }), attrs: [] }
    : { header: ifinfomsg(m), attrs: [[IFLA.IFNAME, str(ref)]] };
}

function parseLink(data: Buffer): Link {
  const msg = parseIfinfomsg(data);
  const a = decodeAttrs(data.subarray(IFINFOMSG_LEN));
  const info = a.get(IFLA.LINKINFO);
  const kind = info && decodeAttrs(info).get(IFLA_INFO_KIND);
  const mac = a.get(IFLA.ADDRESS);
  const master = attrU32(a, IFLA.MASTER);
  const parent = attrU32(a, IFLA.LINK);
  return {
    index: msg.index,
    name: readStr(a.get(IFLA.IFNAME) ?? Buffer.alloc(0)),
    kind: kind ? readStr(kind) : undefined,
    mac: mac?.length ? formatMac(mac) : undefined,
    mtu: attrU32(a, IFLA.MTU) ?? 0,
    up: (msg.flags & IFF_UP) !== 0,
    lowerUp: (msg.flags & IFF_LOWER_UP) !== 0,
    operstate: OPER_STATES[a.get(IFLA.OPERSTATE)?.[0] ?? 0] ?? 'unknown',
    promisc: (msg.flags & IFF_PROMISC) !== 0,
    allmulti: (msg.flags & IFF_ALLMULTI) !== 0,
    txQLen: attrU32(a, IFLA.TXQLEN) ?? 0,
    alias: a.get(IFLA.IFALIAS)?.length ? readStr(a.get(IFLA.IFALIAS)!) : undefined,
    master: master || undefined,
    parentIndex: parent && parent !== msg.index ? parent : undefined,
  };
}

/** The link, or null when there is none by that name or index. */
export async function getLink(rtnl: Rtnl, ref: LinkRef): Promise<Link | null> {
  const data = await getLinkMessage(rtnl, ref);
  return data ? parseLink(data) : null;
}

/** The kernel's RTM_NEWLINK answer for the link (ifinfomsg and attributes), or null when there is none. */
export async function getLinkMessage(rtnl: Rtnl, ref: LinkRef): Promise<Buffer | null> {
  const { header, attrs } = select(ref);
  try {
    const [reply] = await rtnl.request(`get link ${linkLabel(ref)}`, RTM.GETLINK, [
      header,
      encodeAttrs([...attrs, [IFLA.EXT_MASK, u32(RTEXT_FILTER_SKIP_STATS)]]),
    ]);
    return reply?.data ?? null;
  } catch (err) {
    if (isNetlinkError(err, 'ENODEV')) return null;
    throw err;
  }
}

/** The link, or a NetlinkError ENODEV naming op. */
export async function requireLink(rtnl: Rtnl, ref: LinkRef, op = `find link ${linkLabel(ref)}`): Promise<Link> {
  const link = await getLink(rtnl, ref);
  if (!link) throw NetlinkError.of('ENODEV', op, `no link ${linkLabel(ref)} in ${rtnl.ns.path}`);
  return link;
}

/** A link's index: numbers pass through, names are looked up (ENODEV naming op when absent). */
export async function linkIndex(rtnl: Rtnl, ref: LinkRef, op: string): Promise<number> {
  return typeof ref === 'number' ? ref : (await requireLink(rtnl, ref, op)).index;
}

export async function listLinks(rtnl: Rtnl): Promise<Link[]> {
  const replies = await rtnl.dump('list links', RTM.GETLINK, [ifinfomsg({}), encodeAttrs([[IFLA.EXT_MASK, u32(RTEXT_FILTER_SKIP_STATS)]])]);
  return replies.map((m) => parseLink(m.data));
}

/** Options a new link and its veth peer share. */
export interface NewLinkOptions {
  mtu?: number;
  /** "aa:bb:cc:dd:ee:ff"; the kernel picks a random one when absent. */
  mac?: string;
  /** Bring the link up as it is created (no second request). */
  up?: boolean;
}

/** The ifinfomsg and attributes common to a new link (or a veth peer) of a name. */
function newLink(name: string, o: NewLinkOptions): { header: Buffer; attrs: AttrList } {
  return {
    header: ifinfomsg(o.up ? { flags: IFF_UP, change: IFF_UP } : {}),
    attrs: [[IFLA.IFNAME, str(name)], o.mtu !== undefined && [IFLA.MTU, u32(o.mtu)], o.mac !== undefined && [IFLA.ADDRESS, parseMac(o.mac)]],
  };
}

export interface BridgeOptions extends NewLinkOptions {
  name: string;
}

/** Creates a bridge; EEXIST when a link of that name exists (see ensureBridge). */
export async function createBridge(rtnl: Rtnl, o: BridgeOptions): Promise<Link> {
  const op = `create bridge ${o.name}`;
  checkName(o.name, op);
  const { header, attrs } = newLink(o.name, o);
  await rtnl.request(op, RTM.NEWLINK, [header, encodeAttrs([...attrs, [IFLA.LINKINFO, [[IFLA_INFO_KIND, str('bridge')]]]])], NLM_F.CREATE | NLM_F.EXCL);
  return requireLink(rtnl, o.name, op);
}

/**
 * Gets the bridge, creating it when absent. An existing bridge keeps its MTU and MAC (they are only
 * applied on creation) but is brought up when o.up asks; a non-bridge link of that name is EEXIST.
 */
export async function ensureBridge(rtnl: Rtnl, o: BridgeOptions): Promise<Link> {
  const op = `ensure bridge ${o.name}`;
  // Looked up first: on all but a network's first ADD the bridge exists, and a refused creation
  // costs a round trip and an error (node:os loads with the first one).
  let link = await getLink(rtnl, o.name);
  if (!link) {
    try {
      return await createBridge(rtnl, o);
    } catch (err) {
      // Another ADD created it between the look and the creation.
      if (!isNetlinkError(err, 'EEXIST')) throw err;
    }
    link = await requireLink(rtnl, o.name, op);
  }
  if (link.kind !== 'bridge') throw NetlinkError.of('EEXIST', op, `${o.name} exists and is ${link.kind ? `a ${link.kind}` : 'not a virtual device'}, not a bridge`);
  if (o.up && !link.up) {
    await setLink(rtnl, link.index, { up: true });
    return requireLink(rtnl, link.index, op);
  }
  return link;
}

export interface VethOptions extends NewLinkOptions {
  /** The end created in rtnl's namespace (the host side). */
  name: string;
  /**
   * No `up` here: the kernel applies the peer's flags before it pairs the two ends, and opening an
   * unpaired veth fails (ENOTCONN). Bring the peer up through a socket in its namespace.
   */
  peer: Omit<NewLinkOptions, 'up'> & {
    name: string;
    /** Where the peer is created, directly (IFLA_NET_NS_FD): no rename or move afterwards. */
    ns: NetNs;
  };
}

/**
 * Creates a veth pair: `name` in rtnl's namespace and `peer.name` directly in `peer.ns`. The peer's
 * MTU defaults to the host end's. Resolves with the host end. EEXIST when either name is taken.
 */
export async function createVeth(rtnl: Rtnl, o: VethOptions): Promise<Link> {
  const op = `create veth ${o.name} (peer ${o.peer.name} in ${o.peer.ns.path})`;
  checkName(o.name, op);
  checkName(o.peer.name, op);
  const host = newLink(o.name, o);
  const peer = newLink(o.peer.name, { ...o.peer, mtu: o.peer.mtu ?? o.mtu });
  // VETH_INFO_PEER carries a whole ifinfomsg followed by the peer's attributes.
  const peerData = Buffer.concat([peer.header, encodeAttrs([...peer.attrs, [IFLA.NET_NS_FD, u32(o.peer.ns.fd)]])]);
  const linkinfo: AttrList = [
    [IFLA_INFO_KIND, str('veth')],
    [IFLA_INFO_DATA, [[VETH_INFO_PEER, peerData]]],
  ];
  await rtnl.request(op, RTM.NEWLINK, [host.header, encodeAttrs([...host.attrs, [IFLA.LINKINFO, linkinfo]])], NLM_F.CREATE | NLM_F.EXCL);
  return requireLink(rtnl, o.name, op);
}

/**
 * Deletes a link (a veth end takes its peer with it). Resolves true when deleted, false when absent
 * and ignoreMissing is set; otherwise absence is ENODEV.
 */
export async function deleteLink(rtnl: Rtnl, ref: LinkRef, opts: { ignoreMissing?: boolean } = {}): Promise<boolean> {
  const { header, attrs } = select(ref);
  const op = `delete link ${linkLabel(ref)}`;
  try {
    // Off the main thread either way: the kernel holds the sender for a few RCU grace periods. By
    // index, the link's own notification tells when it is gone, without waiting for the answer.
    if (typeof ref === 'number') await rtnl.deleteLink(op, ref, [header]);
    else await rtnl.requestOffThread(op, RTM.DELLINK, [header, encodeAttrs(attrs)]);
    return true;
  } catch (err) {
    if (opts.ignoreMissing && isNetlinkError(err, 'ENODEV')) return false;
    throw err;
  }
}

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  promisc?: boolean;
  allmulti?: boolean;
  txQLen?: number;
  /** Up to 255 bytes of label; '' clears it. */
  alias?: string;
  /** Enslave to this bridge (by name or index), or null to release from its master. */
  master?: LinkRef | null;
  /**
   * How IPv6 makes the link's own addresses (iproute2's addrgenmode): 'none' gives it no link-local
   * address when it comes up. Refused (EAFNOSUPPORT) by a kernel without IPv6.
   */
  addrGenMode?: keyof typeof ADDR_GEN_MODE;
}

/** Applies the changes in one request (the kernel sets address, MTU, master, then flags). */
export async function setLink(rtnl: Rtnl, ref: LinkRef, c: LinkChanges): Promise<void> {
  const what = [
    c.master !== undefined && (c.master === null ? 'nomaster' : `master ${linkLabel(c.master)}`),
    c.mtu !== undefined && `mtu ${c.mtu}`,
    c.mac !== undefined && `mac ${c.mac}`,
    c.promisc !== undefined && `promisc ${c.promisc ? 'on' : 'off'}`,
    c.allmulti !== undefined && `allmulticast ${c.allmulti ? 'on' : 'off'}`,
    c.txQLen !== undefined && `txqueuelen ${c.txQLen}`,
    c.alias !== undefined && `alias ${JSON.stringify(c.alias)}`,
    c.addrGenMode !== undefined && `addrgenmode ${c.addrGenMode}`,
    c.up !== undefined && (c.up ? 'up' : 'down'),
  ].filter(Boolean);
  const op = [`set link ${linkLabel(ref)}`, ...what].join(' ');
  const master = c.master === undefined ? undefined : c.master === null ? 0 : await linkIndex(rtnl, c.master, op);
  let flags = 0;
  let change = 0;
  if (c.up !== undefined) {
    change |= IFF_UP;
    if (c.up) flags |= IFF_UP;
  }
  if (c.promisc !== undefined) {
    change |= IFF_PROMISC;
    if (c.promisc) flags |= IFF_PROMISC;
  }
  if (c.allmulti !== undefined) {
    change |= IFF_ALLMULTI;
    if (c.allmulti) flags |= IFF_ALLMULTI;
  }
  const { header, attrs } = select(ref, { flags, change });
  await rtnl.request(op, RTM.SETLINK, [
    header,
    encodeAttrs([
      ...attrs,
      c.mtu !== undefined && [IFLA.MTU, u32(c.mtu)],
      c.txQLen !== undefined && [IFLA.TXQLEN, u32(c.txQLen)],
      // Without a NUL, as iproute2 sends it (the kernel stores the bytes as given).
      c.alias !== undefined && [IFLA.IFALIAS, Buffer.from(c.alias)],
      c.mac !== undefined && [IFLA.ADDRESS, parseMac(c.mac)],
      master !== undefined && [IFLA.MASTER, u32(master)],
      c.addrGenMode !== undefined && [IFLA_AF_SPEC, [[AF_INET6, [[IFLA_INET6_ADDR_GEN_MODE, u8(ADDR_GEN_MODE[c.addrGenMode])]]]]],
    ]),
  ]);
}

/** Operationally up: "up", or "unknown" with carrier (lo, and drivers that do not report a state). */
export function isOperUp(link: Link): boolean {
  return link.up && (link.operstate === 'up' || (link.operstate === 'unknown' && link.lowerUp));
}

/**
 * Polls until the link is operationally up (a veth needs both ends up; the kernel reports the change
 * asynchronously). ETIMEDOUT naming the link and its last state after timeoutMs; ENODEV if it is gone.
 */
export async function waitForLinkUp(rtnl: Rtnl, ref: LinkRef, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<Link> {
  const { timeoutMs = 5000, intervalMs = 10 } = opts;
  const op = `wait for link ${linkLabel(ref)} to come up`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const link = await requireLink(rtnl, ref, op);
    if (isOperUp(link)) return link;
    if (Date.now() >= deadline) {
      throw NetlinkError.of('ETIMEDOUT', op, `still ${link.up ? '' : 'admin down, '}operstate ${link.operstate} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
