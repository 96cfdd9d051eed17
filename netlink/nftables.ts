// nf_tables over nfnetlink, just enough to find rules by their handle, comment or expressions and
// to create chains, append rules and delete rules and chains in one transaction. iptables-nft
// keeps iptables rules as nf_tables rules (its matches and targets as xt "compat" expressions), so
// the comment of a rule iptables-restore added is readable here and the rule can be deleted by its
// handle, with no iptables process: what `iptables -D` does underneath, minus the process start
// and the rule-by-rule comparison. Rules appended here are built by nat/ in iptables-nft's own
// encoding. Nothing here knows what the comments or expressions mean.
import { NetlinkError } from './errors.js';
import { originalNetNs } from './netns.js';
import type { NftExpr } from './nft-expr.js';
import { AddonSocket, errnoOf, type OutgoingMessage } from './addon-socket.js';
import { be32, be64, decodeAttrs, eachAttr, encodeAttrs, NLM_F, readBe64, readStr, str, type AttrList, type WireMessage } from './wire.js';

const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG = { NEWCHAIN: 3, GETCHAIN: 4, DELCHAIN: 5, NEWRULE: 6, GETRULE: 7, DELRULE: 8, NEWGEN: 15, GETGEN: 16 } as const;
const NFTA_GEN_ID = 1;
const NFNL_BATCH_GENID = 1;
/** A transaction bound to a generation the ruleset has moved past (linux/errno.h). */
export const ERESTART = 85;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_RULE = { TABLE: 1, CHAIN: 2, HANDLE: 3, EXPRESSIONS: 4, COMPAT: 5, USERDATA: 7 } as const;
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_MATCH_NAME = 1;
const NFTA_MATCH_INFO = 3;
/** libnftnl's userdata TLV (type u8, length u8) that nft and newer iptables keep a comment in. */
const NFTNL_UDATA_RULE_COMMENT = 0;

/** The address families of iptables' (ip) and ip6tables' (ip6) tables. */
export type NftFamily = 'ip' | 'ip6';
/** The nf_tables family of an IP version's iptables tables. */
export const nftFamily = (ipVersion: 4 | 6): NftFamily => (ipVersion === 6 ? 'ip6' : 'ip');
const NFPROTO: Record<NftFamily, number> = { ip: 2, ip6: 10 };

export interface NftRule {
  chain: string;
  /** Unique in its table, stable for the rule's life. */
  handle: bigint;
  comment: string | undefined;
  /** Its expressions, in order, as nft-expr.ts builds them. */
  exprs: NftExpr[];
}

/** A chain of a table of an address family. */
export interface NftChain {
  family: NftFamily;
  table: string;
  chain: string;
}

/**
 * One step of a transaction (whose steps may be in several families): delete a rule by handle,
 * every rule of a chain, or an (empty, unreferenced) chain; create a chain unless it exists; append
 * a rule. A rule's `proto` is the layer 4 protocol its xt matches may rely on (NFTA_RULE_COMPAT:
 * what `-p` says, 0 for none).
 */
export type NftChange = NftChain &
  (
    | { kind: 'rule'; handle: bigint }
    | { kind: 'flush' }
    | { kind: 'chain' }
    | { kind: 'create-chain' }
    | { kind: 'append'; exprs: readonly NftExpr[]; proto: number }
  );

/** struct nfgenmsg: family, version 0, resource id (big-endian). */
function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b[0] = family;
  b.writeUInt16BE(resId, 2);
  return b;
}

const nftType = (msg: number) => (NFNL_SUBSYS_NFTABLES << 8) | msg;
const NFGENMSG_LEN = 4;
const ENOENT = 2;

/**
 * A rule's comment as iptables-nft writes it: an xt "comment" match (iptables 1.8.x: its info is
 * xt_comment_info, the NUL-terminated text), else the userdata comment nft and later iptables use.
 */
export function ruleComment(attrs: Map<number, Buffer>): string | undefined {
  for (const [type, elem] of eachAttr(attrs.get(NFTA_RULE.EXPRESSIONS) ?? Buffer.alloc(0))) {
    if (type !== NFTA_LIST_ELEM) continue;
    const expr = decodeAttrs(elem);
    if (readStr(expr.get(NFTA_EXPR_NAME) ?? Buffer.alloc(0)) !== 'match') continue;
    const match = decodeAttrs(expr.get(NFTA_EXPR_DATA) ?? Buffer.alloc(0));
    if (readStr(match.get(NFTA_MATCH_NAME) ?? Buffer.alloc(0)) === 'comment') return readStr(match.get(NFTA_MATCH_INFO) ?? Buffer.alloc(0));
  }
  const udata = attrs.get(NFTA_RULE.USERDATA);
  for (let off = 0; udata && off + 2 <= udata.length; off += 2 + udata[off + 1]!) {
    const end = off + 2 + udata[off + 1]!;
    if (end > udata.length) break;
    if (udata[off] === NFTNL_UDATA_RULE_COMMENT) return readStr(udata.subarray(off + 2, end));
  }
  return undefined;
}

/** A NEWRULE message (a dump's entry, a lookup's answer or an echo) as an NftRule; undefined for anything else. */
function parseRule(m: WireMessage): NftRule | undefined {
  if (m.type !== nftType(NFT_MSG.NEWRULE)) return undefined;
  const attrs = decodeAttrs(m.data.subarray(NFGENMSG_LEN));
  const handle = attrs.get(NFTA_RULE.HANDLE);
  if (!handle || handle.length < 8) return undefined;
  const exprs = eachAttr(attrs.get(NFTA_RULE.EXPRESSIONS) ?? Buffer.alloc(0)).flatMap(([type, e]) => (type === NFTA_LIST_ELEM ? [e] : []));
  return { chain: readStr(attrs.get(NFTA_RULE.CHAIN) ?? Buffer.alloc(0)), handle: readBe64(handle), comment: ruleComment(attrs), exprs };
}

/**
 * One socket's worth of nf_tables requests, one at a time, each sent from a pool thread: the lookups
 * of an ADD run at once, each on a socket of its own, and a DEL's commit beside its other work; on a
 * big ruleset each takes milliseconds of the kernel's (a commit validates whole tables). Sending them
 * from the calling thread instead saved ~2 ms of an ADD at 0 containers and cost 2-3 at 500.
 */
export class NfTables {
  private constructor(private readonly socket: AddonSocket) {}

  /** A socket acting on the namespace this process runs in (a plugin's host). */
  static open(): NfTables {
    return new NfTables(new AddonSocket(originalNetNs(), NETLINK_NETFILTER));
  }

  /** Runs fn with a socket of its own (so on a pool thread of its own), closed after. */
  static async using<T>(fn: (nft: NfTables) => Promise<T>): Promise<T> {
    const nft = NfTables.open();
    try {
      return await fn(nft);
    } finally {
      await nft.close();
    }
  }

  /**
   * The rules of one chain, in order; undefined when the table or the chain does not exist. With
   * `containing`, only the rules whose netlink message holds those bytes: the others are dropped on
   * the pool thread as they arrive, so a long shared chain costs JavaScript nothing; with `first`
   * too, the rules holding them that came in the kernel's first batch to hold one, and the dump
   * stops there (the kernel never writes out the rest of the chain).
   */
  async rules(family: NftFamily, table: string, chain: string, containing?: Buffer, first = false): Promise<NftRule[] | undefined> {
    const op = `list the nf_tables rules of ${family} ${table} ${chain}`;
    const filter = encodeAttrs([
      [NFTA_RULE.TABLE, str(table)],
      [NFTA_RULE.CHAIN, str(chain)],
    ]);
    const replies = await this.request(op, { type: nftType(NFT_MSG.GETRULE), flags: NLM_F.DUMP, payload: [nfgenmsg(NFPROTO[family]), filter] }, containing, first);
    return replies?.flatMap((m) => parseRule(m) ?? []);
  }

  /**
   * Rules by handle, each looked up on its own (no chain is read whole), all in one round trip; a
   * rule, chain or table that does not exist gives undefined in its place.
   */
  async rulesByHandle(refs: ReadonlyArray<NftChain & { handle: bigint }>): Promise<Array<NftRule | undefined>> {
    const gets = refs.map((r): OutgoingMessage => {
      const attrs = encodeAttrs([
        [NFTA_RULE.TABLE, str(r.table)],
        [NFTA_RULE.CHAIN, str(r.chain)],
        [NFTA_RULE.HANDLE, be64(r.handle)],
      ]);
      return { type: nftType(NFT_MSG.GETRULE), flags: NLM_F.ACK, payload: [nfgenmsg(NFPROTO[r.family]), attrs] };
    });
    const answers = await this.each('look up nf_tables rules by handle', gets, (i) => `look up rule ${refs[i]!.handle} of ${refs[i]!.family} ${refs[i]!.table} ${refs[i]!.chain}`);
    return answers.map((replies, i) => replies?.map(parseRule).find((rule) => rule?.handle === refs[i]!.handle));
  }

  /** Which of the chains exist, all in one round trip. */
  async hasChains(chains: readonly NftChain[]): Promise<boolean[]> {
    const gets = chains.map((c): OutgoingMessage => ({ type: nftType(NFT_MSG.GETCHAIN), flags: NLM_F.ACK, payload: [nfgenmsg(NFPROTO[c.family]), encodeAttrs(chainAttrs(c))] }));
    const answers = await this.each('look up nf_tables chains', gets, (i) => `find nf_tables chain ${chains[i]!.family} ${chains[i]!.table} ${chains[i]!.chain}`);
    return answers.map((replies) => replies !== undefined);
  }

  /**
   * Requests answered one by one in one round trip: each one's replies, undefined where the kernel
   * answered ENOENT; any other refusal throws, named by `what`.
   */
  private async each(op: string, gets: readonly OutgoingMessage[], what: (i: number) => string): Promise<Array<WireMessage[] | undefined>> {
    if (gets.length === 0) return [];
    // Led by a GETGEN, which always succeeds: a refused first message ends a transaction's answer.
    const lead: OutgoingMessage = { type: nftType(NFT_MSG.GETGEN), flags: NLM_F.ACK, payload: [nfgenmsg(0)] };
    const replies = await this.socket.transact(op, [lead, ...gets]);
    return gets.map((_, i) => {
      const errno = errnoOf(replies, i + 1);
      if (errno === ENOENT) return undefined;
      if (errno !== 0) throw errno === undefined ? NetlinkError.of('EPROTO', what(i), 'the kernel sent no acknowledgement') : NetlinkError.fromErrno(errno, what(i));
      return replies.filter((m) => m.seq === i + 1);
    });
  }

  /** The ruleset's generation: every committed transaction, by anyone, moves it on. */
  async generation(): Promise<number> {
    const op = 'read the nf_tables generation';
    const replies = await this.request(op, { type: nftType(NFT_MSG.GETGEN), flags: NLM_F.ACK, payload: [nfgenmsg(0)] });
    const gen = replies?.find((m) => m.type === nftType(NFT_MSG.NEWGEN));
    const id = gen && decodeAttrs(gen.data.subarray(NFGENMSG_LEN)).get(NFTA_GEN_ID);
    if (!id || id.length < 4) throw NetlinkError.of('EPROTO', op, 'the kernel sent no generation');
    return id.readUInt32BE(0);
  }

  /**
   * Makes every change listed in one transaction (all of them, or none), in order: rules before the
   * chains they jump to, a chain's flush before the chain. Resolves with, per change, the handle of
   * the rule it appended (the kernel echoes each new rule to its sender), undefined for the other
   * kinds. Rejects with a NetlinkError naming the first change the kernel refused. With
   * `generation`, only if the ruleset is still at it (what the caller looked at is unchanged):
   * otherwise nothing is done and the error's errno is ERESTART.
   */
  async commit(changes: readonly NftChange[], generation?: number): Promise<Array<bigint | undefined>> {
    if (changes.length === 0) return [];
    const batch = (type: number, attrs: AttrList = []): OutgoingMessage => ({ type, flags: 0, payload: [nfgenmsg(0, NFNL_SUBSYS_NFTABLES), encodeAttrs(attrs)] });
    const messages = changes.map((c): OutgoingMessage => {
      const [type, flags, attrs] = changeMessage(c);
      return { type: nftType(type), flags: flags | NLM_F.ACK, payload: [nfgenmsg(NFPROTO[c.family]), encodeAttrs(attrs)] };
    });
    const replies = await this.socket.transact('change nf_tables rules', [batch(NFNL_MSG_BATCH_BEGIN, [generation !== undefined && [NFNL_BATCH_GENID, be32(generation)]]), ...messages, batch(NFNL_MSG_BATCH_END)]);
    const begun = errnoOf(replies, 0);
    if (begun) throw NetlinkError.fromErrno(begun, 'begin an nf_tables transaction');
    changes.forEach((c, i) => {
      const errno = errnoOf(replies, i + 1);
      if (errno === 0) return;
      const op = `${describeChange(c)} (${c.family})`;
      throw errno === undefined ? NetlinkError.of('EPROTO', op, 'the kernel sent no acknowledgement') : NetlinkError.fromErrno(errno, op);
    });
    // The echoes come before the acknowledgements, with the seq of the message they answer.
    const echoed = new Map(replies.flatMap((m) => (m.type === nftType(NFT_MSG.NEWRULE) ? [[m.seq, parseRule(m)?.handle] as const] : [])));
    return changes.map((c, i) => (c.kind === 'append' ? echoed.get(i + 1) : undefined));
  }

  close(): Promise<void> {
    return this.socket.close();
  }

  /** One request's replies; undefined when the kernel answers ENOENT (no such table, chain or rule). */
  private async request(op: string, message: OutgoingMessage, keep?: Buffer, firstKept = false): Promise<WireMessage[] | undefined> {
    const replies = await this.socket.transact(op, [message], keep, firstKept);
    const errno = errnoOf(replies, 0);
    if (errno === ENOENT) return undefined;
    if (errno) throw NetlinkError.fromErrno(errno, op);
    return replies;
  }
}

const chainAttrs = (c: Pick<NftChain, 'table' | 'chain'>): AttrList => [
  [NFTA_CHAIN_TABLE, str(c.table)],
  [NFTA_CHAIN_NAME, str(c.chain)],
];

/** A change's message type, flags and attributes. */
function changeMessage(c: NftChange): [number, number, AttrList] {
  const chainName = chainAttrs(c);
  const ruleChain: AttrList = [
    [NFTA_RULE.TABLE, str(c.table)],
    [NFTA_RULE.CHAIN, str(c.chain)],
  ];
  switch (c.kind) {
    case 'chain':
      return [NFT_MSG.DELCHAIN, 0, chainName];
    case 'create-chain':
      return [NFT_MSG.NEWCHAIN, NLM_F.CREATE, chainName];
    case 'flush':
      return [NFT_MSG.DELRULE, 0, ruleChain];
    case 'rule':
      return [NFT_MSG.DELRULE, 0, [...ruleChain, [NFTA_RULE.HANDLE, be64(c.handle)]]];
    case 'append':
      return [
        NFT_MSG.NEWRULE,
        NLM_F.CREATE | NLM_F.APPEND | NLM_F.ECHO,
        [
          ...ruleChain,
          [NFTA_RULE.EXPRESSIONS, c.exprs.map((e): [number, Buffer] => [NFTA_LIST_ELEM, e])],
          [
            NFTA_RULE.COMPAT,
            [
              [1 /* PROTO */, be32(c.proto)],
              [2 /* FLAGS */, be32(0)],
            ],
          ],
        ],
      ];
  }
}

function describeChange(c: NftChange): string {
  switch (c.kind) {
    case 'rule':
      return `delete rule ${c.handle} of ${c.table} ${c.chain}`;
    case 'flush':
      return `delete the rules of ${c.table} ${c.chain}`;
    case 'chain':
      return `delete chain ${c.table} ${c.chain}`;
    case 'create-chain':
      return `create chain ${c.table} ${c.chain}`;
    case 'append':
      return `append a rule to ${c.table} ${c.chain}`;
  }
}
