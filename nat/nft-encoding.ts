// An iptables rule as iptables-nft 1.8 turns it into nf_tables expressions, so ADD can append it
// with no iptables process and iptables itself (-C, -D, iptables-save) sees exactly the rule it
// would have made: the interface, protocol and address matches first and native (in that order,
// whatever the order of the arguments), then the other matches in argument order (tcp/udp ports
// and marks native, conntrack, multiport, addrtype and comment as x_tables matches run by
// nft_compat), a counter, and the target (a verdict, or MARK, DNAT or MASQUERADE through
// nft_compat). Only the forms ctnet's layouts write are encoded, each checked byte for byte against
// iptables-nft 1.8.9's in integration/nft-add.test.ts; for anything else the answer is undefined and
// the caller runs iptables-restore. A version that writes comments, conntrack, addrtype or mark
// matches differently writes the shared rules differently too, so nft-apply.ts does not find them
// and that host keeps to iptables-restore; the other forms are checked on 1.8.9 only.
import { familyBits, networkOf, parseAddr, parseCidr, prefixMask, toBytes, type Cidr } from '../ip/address.js';
import { CMP_OP, META_KEY, nftExpr, PAYLOAD_BASE, VERDICT, type NftExpr } from '../netlink/nft-expr.js';
import { be16, u32, writeU16 } from '../netlink/wire.js';
import type { Family } from './types.js';

export interface EncodedRule {
  exprs: NftExpr[];
  /** The `-p` protocol number (0 for none), which nft_compat hands to the xt matches' checks. */
  proto: number;
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17 };
const IFNAMSIZ = 16;
/** x_tables targets are upper-case words; a name with anything else in it is a chain to jump to. */
const CHAIN_TARGET = /^(?=.*[^A-Z])[A-Za-z0-9_.][A-Za-z0-9_.-]{0,27}$/;

/** Where each family keeps its addresses in the network header. */
const ADDR_OFFSET: Record<Family, { src: number; dst: number }> = { 4: { src: 12, dst: 16 }, 6: { src: 8, dst: 24 } };

// xt_conntrack (revision 3) state bits and flags, and the offsets of its fields in xt_conntrack_mtinfo3.
const CT_STATES: Record<string, number> = { INVALID: 1, ESTABLISHED: 2, RELATED: 4, NEW: 8, SNAT: 0x40, DNAT: 0x80, UNTRACKED: 0x100 };
const CT_FLAG = { state: 1, direction: 0x1000 } as const;
const CT_INFO = { size: 164, matchFlags: 146, invertFlags: 148, stateMask: 150 } as const;
// xt_addrtype (revision 1) types, as bits of 1 << RTN_*.
const ADDR_TYPES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];
// struct nf_nat_range2 flags (DNAT revision 2).
const NAT_RANGE = { mapIps: 1, protoSpecified: 2, protoOffset: 0x20 } as const;

class Unencodable extends Error {}

function refuse(): never {
  throw new Unencodable();
}

function port(text: string | undefined): number {
  if (text === undefined || !/^\d{1,5}$/.test(text)) refuse();
  const p = Number(text);
  return p <= 65535 ? p : refuse();
}

/** `N` or `N:M`, as [N, N] or [N, M]. */
function portRange(text: string | undefined): [number, number] {
  const [a, b, ...rest] = (text ?? '').split(':');
  if (rest.length) refuse();
  const from = port(a);
  const to = b === undefined ? from : port(b);
  return from <= to ? [from, to] : refuse();
}

function parseNumber(text: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) refuse();
  const v = Number(text);
  return v <= 0xffffffff ? v : refuse();
}

/** `value/mask` with a mask of some bits (the only form these encodings are checked in). */
function valueMask(text: string | undefined): [number, number] {
  const [v, m, ...rest] = (text ?? '').split('/');
  if (m === undefined || rest.length) refuse();
  const mask = parseNumber(m);
  return mask !== 0xffffffff ? [parseNumber(v!), mask] : refuse();
}

/** An interface match: the name and its NUL, or for `name+` just the prefix. */
function iface(key: number, name: string | undefined, neg: boolean): NftExpr[] {
  if (!name || name.length >= IFNAMSIZ || /[\s/]/.test(name) || name === '+') refuse();
  const data = name.endsWith('+') ? Buffer.from(name.slice(0, -1)) : Buffer.from(`${name}\0`);
  return [nftExpr.meta(key), nftExpr.cmp(neg ? CMP_OP.neq : CMP_OP.eq, data)];
}

function cidr(family: Family, text: string | undefined): Cidr {
  // A bare address is a host: the family's full prefix.
  const c = text === undefined ? undefined : parseCidr(text.includes('/') ? text : `${text}/${familyBits(family)}`);
  // A zero prefix matches everything: iptables leaves such a match out.
  return c && c.addr.family === family && c.prefix > 0 ? c : refuse();
}

/** An address match: whole bytes of the prefix loaded and compared, or the whole address masked. */
function address(family: Family, offset: number, c: Cidr, neg: boolean): NftExpr[] {
  const data = toBytes({ family, value: networkOf(c) });
  const op = neg ? CMP_OP.neq : CMP_OP.eq;
  if (c.prefix % 8 === 0) return [nftExpr.payload(PAYLOAD_BASE.network, offset, c.prefix / 8), nftExpr.cmp(op, data.subarray(0, c.prefix / 8))];
  const mask = toBytes({ family, value: prefixMask(family, c.prefix) });
  return [nftExpr.payload(PAYLOAD_BASE.network, offset, data.length), nftExpr.bitwise(mask), nftExpr.cmp(op, data)];
}

/** The x_tables comment: the text in a 256-byte field. */
function commentInfo(text: string | undefined): Buffer {
  const info = Buffer.alloc(256);
  if (text === undefined || Buffer.byteLength(text) > 255) refuse();
  info.write(text);
  return info;
}

/** xt_multiport_v1: flags, count, ports[15], pflags[15] (1 on a range's first port), invert (0). */
function multiportInfo(destination: boolean, list: string | undefined): Buffer {
  const info = Buffer.alloc(48);
  const ports = (list ?? '').split(',').flatMap((spec) => {
    const [from, to] = portRange(spec);
    return spec.includes(':') ? [{ p: from, range: true }, { p: to, range: false }] : [{ p: from, range: false }];
  });
  if (ports.length === 0 || ports.length > 15) refuse();
  info[0] = destination ? 1 : 0;
  info[1] = ports.length;
  ports.forEach(({ p, range }, i) => {
    writeU16(info, p, 2 + 2 * i);
    info[32 + i] = range ? 1 : 0;
  });
  return info;
}

/** xt_addrtype_info_v1: source and destination type masks, flags (no inversion, no interface limit). */
function addrtypeInfo(source: boolean, types: string | undefined): Buffer {
  const mask = (types ?? '').split(',').reduce((m, name) => {
    const bit = ADDR_TYPES.indexOf(name);
    return bit >= 0 ? m | (1 << bit) : refuse();
  }, 0);
  const info = Buffer.alloc(8);
  writeU16(info, source ? mask : 0, 0);
  writeU16(info, source ? 0 : mask, 2);
  return info;
}

/** nf_nat_range2 of `--to-destination`: addr, addr:port, addr:port-port, addr:port-port/base ([addr] for IPv6). */
function dnatInfo(family: Family, to: string | undefined, proto: number): Buffer {
  const m = family === 6 ? /^(?:\[([^\]]+)\]|([^[\]]+))(?::(\d+)(?:-(\d+))?(?:\/(\d+))?)?$/.exec(to ?? '') : /^([\d.]+)()(?::(\d+)(?:-(\d+))?(?:\/(\d+))?)?$/.exec(to ?? '');
  if (!m || (family === 6 && m[2] !== undefined && m[3] !== undefined)) refuse();
  const addr = parseAddr(m[1] ?? m[2] ?? '');
  if (!addr || addr.family !== family || (m[3] !== undefined && proto === 0)) refuse();
  const info = Buffer.alloc(48);
  let flags = NAT_RANGE.mapIps;
  const bytes = toBytes(addr);
  info.set(bytes, 4);
  info.set(bytes, 20);
  if (m[3] !== undefined) {
    const [min, max] = [port(m[3]), m[4] === undefined ? port(m[3]) : port(m[4])];
    if (min > max) refuse();
    flags |= NAT_RANGE.protoSpecified;
    info.set(be16(min), 36);
    info.set(be16(max), 38);
    if (m[5] !== undefined) {
      flags |= NAT_RANGE.protoOffset;
      info.set(be16(port(m[5])), 40);
    }
  }
  info.set(u32(flags), 0);
  return info;
}

/** MASQUERADE with no options: IPv4's nf_nat_ipv4_multi_range_compat (one empty range), IPv6's nf_nat_range. */
const masqueradeInfo = (family: Family): Buffer => (family === 4 ? Buffer.concat([u32(1), Buffer.alloc(20)]) : Buffer.alloc(40));

/** A conntrack match being read: its options set fields of one xt_conntrack_mtinfo3. */
class Conntrack {
  private readonly info = Buffer.alloc(CT_INFO.size);
  private flags = 0;
  private invert = 0;

  state(list: string | undefined, neg: boolean): void {
    const mask = (list ?? '').split(',').reduce((m, s) => m | (CT_STATES[s] ?? refuse()), 0);
    this.set(CT_FLAG.state, neg);
    writeU16(this.info, mask, CT_INFO.stateMask);
  }

  direction(dir: string | undefined, neg: boolean): void {
    if (dir !== 'ORIGINAL' && dir !== 'REPLY') refuse();
    // REPLY is stored as an inverted ORIGINAL.
    this.set(CT_FLAG.direction, (dir === 'REPLY') !== neg);
  }

  expr(): NftExpr {
    writeU16(this.info, this.flags, CT_INFO.matchFlags);
    writeU16(this.info, this.invert, CT_INFO.invertFlags);
    return nftExpr.match('conntrack', 3, this.info);
  }

  private set(flag: number, neg: boolean): void {
    if (this.flags & flag) refuse();
    this.flags |= flag;
    if (neg) this.invert |= flag;
  }
}

/** The rule's nf_tables form, or undefined when it uses anything not encoded here. */
export function encodeRule(family: Family, table: string, args: readonly string[]): EncodedRule | undefined {
  try {
    return encode(family, table, args);
  } catch (err) {
    if (err instanceof Unencodable) return undefined;
    throw err;
  }
}

function encode(family: Family, table: string, args: readonly string[]): EncodedRule {
  // The fields iptables keeps in the rule's header (ipt_entry), each set once.
  const head: { iif?: NftExpr[]; oif?: NftExpr[]; proto?: NftExpr[]; src?: NftExpr[]; dst?: NftExpr[] } = {};
  // The matches in order; a conntrack match is completed once all its options are read.
  const matches: Array<NftExpr[] | Conntrack> = [];
  let proto = 0;
  let module: string | undefined;
  // A module named by -m and not yet given its option: iptables refuses that, so this does too.
  let unmet: string | undefined;
  let ports = false;
  let target: NftExpr | undefined;
  const setHead = (field: keyof typeof head, exprs: NftExpr[]) => {
    if (head[field]) refuse();
    head[field] = exprs;
  };
  for (let i = 0; i < args.length; i++) {
    let neg = false;
    if (args[i] === '!') {
      neg = true;
      i++;
    }
    const opt = args[i];
    const val = () => args[++i];
    const positive = () => (neg ? refuse() : undefined);
    switch (opt) {
      case '-s':
        setHead('src', address(family, ADDR_OFFSET[family].src, cidr(family, val()), neg));
        break;
      case '-d':
        setHead('dst', address(family, ADDR_OFFSET[family].dst, cidr(family, val()), neg));
        break;
      case '-i':
        setHead('iif', iface(META_KEY.iifname, val(), neg));
        break;
      case '-o':
        setHead('oif', iface(META_KEY.oifname, val(), neg));
        break;
      case '-p':
        positive();
        proto = PROTOCOLS[val() ?? ''] ?? refuse();
        setHead('proto', [nftExpr.meta(META_KEY.l4proto), nftExpr.cmp(CMP_OP.eq, Buffer.from([proto]))]);
        break;
      case '-m':
        positive();
        if (unmet) refuse();
        module = unmet = val();
        if (module === 'tcp' || module === 'udp') {
          if (PROTOCOLS[module] !== proto) refuse();
        } else if (module === 'conntrack') matches.push(new Conntrack());
        else if (!['multiport', 'comment', 'addrtype', 'mark'].includes(module ?? '')) refuse();
        break;
      case '--dport':
      case '--sport': {
        // The protocol's own match, implied by the option (or named by -m tcp/udp); one port option per rule here.
        if (proto === 0 || ports || neg || (module !== undefined && module !== 'tcp' && module !== 'udp')) refuse();
        ports = true;
        unmet = undefined;
        const [from, to] = portRange(val());
        const load = nftExpr.payload(PAYLOAD_BASE.transport, opt === '--sport' ? 0 : 2, 2);
        matches.push([load, from === to ? nftExpr.cmp(CMP_OP.eq, be16(from)) : nftExpr.range(CMP_OP.eq, be16(from), be16(to))]);
        break;
      }
      case '--dports':
      case '--sports':
        if (module !== 'multiport' || proto === 0 || neg) refuse();
        unmet = undefined;
        matches.push([nftExpr.match('multiport', 1, multiportInfo(opt === '--dports', val()))]);
        break;
      case '--ctstate':
      case '--ctdir': {
        const ct = matches.at(-1);
        if (module !== 'conntrack' || !(ct instanceof Conntrack)) refuse();
        unmet = undefined;
        if (opt === '--ctstate') ct.state(val(), neg);
        else ct.direction(val(), neg);
        break;
      }
      case '--comment':
        positive();
        if (module !== 'comment') refuse();
        unmet = undefined;
        matches.push([nftExpr.match('comment', 0, commentInfo(val()))]);
        break;
      case '--dst-type':
      case '--src-type':
        if (module !== 'addrtype' || neg) refuse();
        unmet = undefined;
        matches.push([nftExpr.match('addrtype', 1, addrtypeInfo(opt === '--src-type', val()))]);
        break;
      case '--mark': {
        if (module !== 'mark' || neg) refuse();
        unmet = undefined;
        const [v, mask] = valueMask(val());
        matches.push([nftExpr.meta(META_KEY.mark), nftExpr.bitwise(u32(mask)), nftExpr.cmp(CMP_OP.eq, u32((v & mask) >>> 0))]);
        break;
      }
      case '-j':
        positive();
        if (unmet) refuse();
        target = encodeTarget(family, table, args.slice(i + 1), proto);
        i = args.length;
        break;
      default:
        refuse();
    }
  }
  if (!target) refuse();
  const body = matches.flatMap((m) => (m instanceof Conntrack ? [m.expr()] : m));
  return { exprs: [...(head.iif ?? []), ...(head.oif ?? []), ...(head.proto ?? []), ...(head.src ?? []), ...(head.dst ?? []), ...body, nftExpr.counter(), target], proto };
}

function encodeTarget(family: Family, table: string, rest: readonly string[], proto: number): NftExpr {
  const [name, ...opts] = rest;
  const none = () => (opts.length ? refuse() : undefined);
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      none();
      return nftExpr.verdict(VERDICT[name.toLowerCase() as 'accept' | 'drop' | 'return']);
    case 'MARK': {
      if (opts.length !== 2 || opts[0] !== '--set-xmark') refuse();
      const [v, mask] = valueMask(opts[1]);
      return nftExpr.target('MARK', 2, Buffer.concat([u32(v), u32(mask)]));
    }
    case 'DNAT':
      if (table !== 'nat' || opts.length !== 2 || opts[0] !== '--to-destination') refuse();
      return nftExpr.target('DNAT', 2, dnatInfo(family, opts[1], proto));
    case 'MASQUERADE':
      if (table !== 'nat') refuse();
      none();
      return nftExpr.target('MASQUERADE', 0, masqueradeInfo(family));
    default:
      if (!name || !CHAIN_TARGET.test(name)) refuse();
      none();
      return nftExpr.verdict(VERDICT.jump, name);
  }
}
