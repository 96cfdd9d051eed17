// The rule comment as iptables-nft stores it, in both forms the kernel hands back: an xt "comment"
// match expression (iptables 1.8.x) or libnftnl's userdata TLV (nft, newer iptables).
import test from 'ava';
import { ruleComment } from './nftables.js';
import { decodeAttrs, encodeAttrs, str, type AttrList } from './wire.js';

const TAG = 'ctnet:98d7e7978d29b00e portmap net=n1 id=ctr1 if=eth0';
const expr = (name: string, data: AttrList): [number, AttrList] => [1, [[1, str(name)], [2, data]]];
/** xt_comment_info: the text in a fixed 256-byte field. */
const commentInfo = () => {
  const b = Buffer.alloc(256);
  b.write(TAG);
  return b;
};

test('ruleComment: an xt comment match among other expressions', (t) => {
  const rule = encodeAttrs([
    [1, str('nat')],
    [2, str('CTNET-DNAT')],
    [4, [expr('payload', [[1, Buffer.alloc(4)]]), expr('match', [[1, str('multiport')], [3, Buffer.alloc(12)]]), expr('match', [[1, str('comment')], [2, Buffer.alloc(4)], [3, commentInfo()]]), expr('target', [[1, str('ACCEPT')]])]],
  ]);
  t.is(ruleComment(decodeAttrs(rule)), TAG);
});

test('ruleComment: a userdata comment, after other TLVs; none at all', (t) => {
  const text = Buffer.from(`${TAG}\0`);
  const udata = Buffer.concat([Buffer.from([7, 2, 0xaa, 0xbb]), Buffer.from([0, text.length]), text]);
  t.is(ruleComment(decodeAttrs(encodeAttrs([[7, udata]]))), TAG);
  t.is(ruleComment(decodeAttrs(encodeAttrs([[4, [expr('counter', [])]]]))), undefined);
  // A TLV claiming more bytes than there are is not read past the end.
  t.is(ruleComment(decodeAttrs(encodeAttrs([[7, Buffer.from([0, 200, 0x41])]]))), undefined);
});
