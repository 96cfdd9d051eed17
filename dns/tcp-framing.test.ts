import test from 'ava';
import { FrameReader, frame } from './tcp-framing.js';

test('frames survive any split of the stream', (t) => {
  const messages = [Buffer.from('one'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('last')];
  const stream = Buffer.concat(messages.map(frame));
  for (const size of [1, 2, 3, 7, 100, stream.length]) {
    const reader = new FrameReader();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += size) out.push(...reader.push(stream.subarray(i, i + size)));
    t.deepEqual(out, messages, `chunks of ${size}`);
  }
});

test('a frame announcing more than the limit is refused', (t) => {
  const reader = new FrameReader(512);
  t.throws(() => reader.push(Buffer.from([0x02, 0x01])), { message: /513-byte message is over the 512-byte limit/ });
});
