// nf_tables rule expressions (linux/netfilter/nf_tables.h), encoded exactly as the kernel dumps
// them: the attributes in its order, nested ones without NLA_F_NESTED (which it accepts on input
// too). So an expression built here can be sent, and compared byte for byte with what a dump of
// an existing rule holds. Integers in expressions are big-endian; register contents are raw bytes.
import { be32, be64, encodeAttrs, str, type AttrList } from './wire.js';

/** One expression: the value of an NFTA_LIST_ELEM of a rule's NFTA_RULE_EXPRESSIONS. */
export type NftExpr = Buffer;

const NFT_REG_VERDICT = 0;
/** The first 16-byte data register, where iptables-nft loads everything it compares. */
const NFT_REG_1 = 1;

export const META_KEY = { mark: 3, iifname: 6, oifname: 7, l4proto: 16 } as const;
export const PAYLOAD_BASE = { network: 1, transport: 2 } as const;
export const CMP_OP = { eq: 0, neq: 1 } as const;
export const VERDICT = { drop: 0, accept: 1, jump: -3, return: -5 } as const;

const value = (bytes: Buffer): AttrList => [[1 /* NFTA_DATA_VALUE */, bytes]];

function expr(name: string, data: AttrList): NftExpr {
  return encodeAttrs(
    [
      [1 /* NFTA_EXPR_NAME */, str(name)],
      [2 /* NFTA_EXPR_DATA */, data],
    ],
    false,
  );
}

export const nftExpr = {
  /** Loads a packet meta datum (interface name, layer 4 protocol, mark) into register 1. */
  meta: (key: number) =>
    expr('meta', [
      [2 /* KEY */, be32(key)],
      [1 /* DREG */, be32(NFT_REG_1)],
    ]),

  /** Loads `len` bytes at `offset` of a header into register 1. */
  payload: (base: number, offset: number, len: number) =>
    expr('payload', [
      [1 /* DREG */, be32(NFT_REG_1)],
      [2 /* BASE */, be32(base)],
      [3 /* OFFSET */, be32(offset)],
      [4 /* LEN */, be32(len)],
    ]),

  /** register 1 = register 1 & mask (the xor being zero). */
  bitwise: (mask: Buffer) =>
    expr('bitwise', [
      [1 /* SREG */, be32(NFT_REG_1)],
      [2 /* DREG */, be32(NFT_REG_1)],
      [3 /* LEN */, be32(mask.length)],
      [6 /* OP: NFT_BITWISE_BOOL */, be32(0)],
      [4 /* MASK */, value(mask)],
      [5 /* XOR */, value(Buffer.alloc(mask.length))],
    ]),

  /** Register 1 compared with `data`: the rule goes on only if it holds. */
  cmp: (op: number, data: Buffer) =>
    expr('cmp', [
      [1 /* SREG */, be32(NFT_REG_1)],
      [2 /* OP */, be32(op)],
      [3 /* DATA */, value(data)],
    ]),

  /** Register 1 within [from, to] (op eq) or outside it (neq). */
  range: (op: number, from: Buffer, to: Buffer) =>
    expr('range', [
      [1 /* SREG */, be32(NFT_REG_1)],
      [2 /* OP */, be32(op)],
      [3 /* FROM_DATA */, value(from)],
      [4 /* TO_DATA */, value(to)],
    ]),

  counter: () =>
    expr('counter', [
      [1 /* BYTES */, be64(0n)],
      [2 /* PACKETS */, be64(0n)],
    ]),

  /** A verdict: accept, drop, return, or a jump to `chain`. */
  verdict: (code: number, chain?: string) =>
    expr('immediate', [
      [1 /* DREG */, be32(NFT_REG_VERDICT)],
      [2 /* DATA */, [[2 /* NFTA_DATA_VERDICT */, [[1 /* CODE */, be32(code)], chain !== undefined && [2 /* CHAIN */, str(chain)]]]]],
    ]),

  /** An x_tables match run by nft_compat, `info` being its revision's struct, padded as XT_ALIGN pads it. */
  match: (name: string, rev: number, info: Buffer) => expr('match', xt(name, rev, info)),
  /** An x_tables target, likewise. */
  target: (name: string, rev: number, info: Buffer) => expr('target', xt(name, rev, info)),
};

function xt(name: string, rev: number, info: Buffer): AttrList {
  const aligned = info.length % 8 === 0 ? info : Buffer.concat([info, Buffer.alloc(8 - (info.length % 8))]);
  return [
    [1 /* NAME */, str(name)],
    [2 /* REV */, be32(rev)],
    [3 /* INFO */, aligned],
  ];
}

/** Is this expression a counter (whose values change with traffic, so comparisons skip it)? */
export function isCounter(e: NftExpr): boolean {
  return e.subarray(4, 12).equals(Buffer.from('counter\0'));
}
