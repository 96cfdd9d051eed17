import test from 'ava';
import { be16, be32, be64, eachAttr, encodeAttrs, nlmsghdr, readBe64, str, u32, writeU16 } from './wire.js';

/** Node's pool, dirtied: the encoder takes its buffers from there and must write every byte. */
function dirtyPool(): void {
  for (let i = 0; i < 64; i++) Buffer.allocUnsafe(100).fill(0xee);
}

test('attributes: length, type and zeroed padding, nested ones holding their children padded, falsy entries skipped', (t) => {
  dirtyPool();
  const bytes = encodeAttrs([
    [1, str('ab')],
    undefined,
    [2, [[3, Buffer.from([9])], false, [4, be16(0x1234)]]],
  ]);
  t.deepEqual(
    [...bytes],
    [
      ...[7, 0, 1, 0, 0x61, 0x62, 0],
      0,
      ...[20, 0, 2, 0x80],
      ...[5, 0, 3, 0, 9, 0, 0, 0],
      ...[6, 0, 4, 0, 0x12, 0x34, 0, 0],
    ],
  );
  t.deepEqual(
    eachAttr(bytes).map(([type, v]) => [type, v.length]),
    [
      [1, 3],
      [2, 16],
    ],
    'the decoder reads back what was written',
  );
  t.is(encodeAttrs([[2, [[3, u32(1)]]]], false).readUInt16LE(2), 2, 'nf_tables form: no NLA_F_NESTED');
  t.is(encodeAttrs([]).length, 0);
});

test('integers: host-order u16 and u32, big-endian be16, be32 (negatives in two\'s complement) and be64, out-of-range values refused', (t) => {
  dirtyPool();
  t.deepEqual([...u32(0x01020304)], [4, 3, 2, 1]);
  t.deepEqual([...be32(0x01020304)], [1, 2, 3, 4]);
  t.deepEqual([...be32(-3)], [0xff, 0xff, 0xff, 0xfd]);
  t.deepEqual([...be16(80)], [0, 80]);
  const b = Buffer.alloc(4);
  writeU16(b, 0xbeef, 1);
  t.deepEqual([...b], [0, 0xef, 0xbe, 0]);
  t.throws(() => writeU16(b, 0x10000, 0), { instanceOf: RangeError });
  t.throws(() => be16(-1), { instanceOf: RangeError });
  t.throws(() => u32(2 ** 32), { instanceOf: RangeError });
  t.deepEqual([...be64(0x0102030405060708n)], [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const v of [0n, 1n, 0xffffffffn, 0x100000000n, 0xfedcba9876543210n, 2n ** 64n - 1n]) t.is(readBe64(be64(v)), v);
  t.is(readBe64(Buffer.from([9, 0, 0, 0, 0x80, 0, 0, 0, 1]), 1), 0x8000000001n, 'at an offset');
  t.throws(() => be64(2n ** 64n), { instanceOf: RangeError });
  t.throws(() => be64(-1n), { instanceOf: RangeError });
  t.throws(() => encodeAttrs([[1, Buffer.alloc(0xffff)]]), { instanceOf: RangeError }, 'an attribute longer than its u16 length field');
});

test('a request header: its length covers the payload, the port id is zero', (t) => {
  dirtyPool();
  const h = nlmsghdr(18, 0x300, 7, [Buffer.alloc(16), Buffer.alloc(8)]);
  t.deepEqual([...h], [40, 0, 0, 0, 18, 0, 0x01, 0x03, 7, 0, 0, 0, 0, 0, 0, 0]);
});
