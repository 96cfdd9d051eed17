import test from 'ava';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { formatAddr, parseAddr } from '../ip/address.js';
import { withStore } from './store.js';
import { tempDir } from './testing.js';

const a = (text: string) => parseAddr(text)!;
const c1 = { containerId: 'c1', ifname: 'eth0' };

test('a reservation is a file named by the address, mode 0600, holding "<id>\\r\\n<ifname>"', async (t) => {
  const dataDir = tempDir(t);
  const ok = await withStore(dataDir, 'n1', (s) => s.reserve(a('10.1.0.2'), c1));
  t.true(ok);
  const dir = join(dataDir, 'n1');
  t.deepEqual(readdirSync(dir).sort(), ['10.1.0.2', 'lock']);
  t.is(readFileSync(join(dir, '10.1.0.2'), 'utf8'), 'c1\r\neth0');
  t.is(statSync(join(dir, '10.1.0.2')).mode & 0o777, 0o600);
  // Exclusive: a second reservation of the address fails and leaves the first intact.
  t.false(await withStore(dataDir, 'n1', (s) => s.reserve(a('10.1.0.2'), { containerId: 'c2', ifname: 'eth0' })));
  t.is(readFileSync(join(dir, '10.1.0.2'), 'utf8'), 'c1\r\neth0');
  t.deepEqual(readdirSync(dir).sort(), ['10.1.0.2', 'lock'], 'no temporary file is left behind');
});

test('IPv6 reservations use the canonical text as the file name', async (t) => {
  const dataDir = tempDir(t);
  await withStore(dataDir, 'n1', (s) => s.reserve(a('FD00:0:0:0:0:0:0:0A'), c1));
  t.true(existsSync(join(dataDir, 'n1', 'fd00::a')));
});

test('reservations: only address-named regular files count; empty files are free; legacy files are honoured', async (t) => {
  const dataDir = tempDir(t);
  const dir = join(dataDir, 'n1');
  await withStore(dataDir, 'n1', (s) => s.setLastReserved(0, a('10.1.0.9')));
  writeFileSync(join(dir, '10.1.0.3'), 'c2\r\neth1');
  writeFileSync(join(dir, '10.1.0.4'), 'legacy-id\n');
  writeFileSync(join(dir, '10.1.0.5'), ''); // a writer crashed between create and write
  writeFileSync(join(dir, 'notes.txt'), 'c1\r\neth0');
  writeFileSync(join(dir, '10.1.0.x'), 'c1\r\neth0');
  symlinkSync(join(dir, '10.1.0.3'), join(dir, '10.1.0.6')); // not a reservation of its own
  mkdirSync(join(dir, '10.1.0.7'));
  const found = await withStore(dataDir, 'n1', (s) => s.reservations());
  t.deepEqual(
    found.map((r) => [r.text, r.owner]).sort(),
    [
      ['10.1.0.3', { containerId: 'c2', ifname: 'eth1' }],
      ['10.1.0.4', { containerId: 'legacy-id' }],
    ],
  );
  // The crashed writer's empty file does not block the address.
  t.true(await withStore(dataDir, 'n1', (s) => s.reserve(a('10.1.0.5'), c1)));
  t.is(readFileSync(join(dir, '10.1.0.5'), 'utf8'), 'c1\r\neth0');
});

test('reservations: a network of 300 is read whole (two threads share the files), long and odd contents intact', async (t) => {
  const dataDir = tempDir(t);
  const dir = join(dataDir, 'n1');
  mkdirSync(dir, { recursive: true });
  const expected: Array<[string, { containerId: string; ifname: string }]> = [];
  for (let i = 0; i < 300; i++) {
    const text = `10.2.${i >> 8}.${i & 255}`;
    // One longer than a read's 4 KiB buffer, one holding a NUL byte (read as a space).
    const id = i === 7 ? 'x'.repeat(5000) : `c${i}`;
    writeFileSync(join(dir, text), i === 9 ? `c\u0000${i}\r\neth0` : `${id}\r\neth${i % 3}`);
    expected.push([text, { containerId: i === 9 ? `c ${i}` : id, ifname: `eth${i % 3}` }]);
  }
  const found = await withStore(dataDir, 'n1', (s) => s.reservations());
  t.deepEqual(found.map((r): [string, unknown] => [r.text, r.owner]).sort(), expected.sort());
});

test('release removes only the named reservation and tolerates a missing file', async (t) => {
  const dataDir = tempDir(t);
  await withStore(dataDir, 'n1', (s) => {
    s.reserve(a('10.1.0.2'), c1);
    s.reserve(a('10.1.0.3'), c1);
    s.release({ file: '10.1.0.2' });
    s.release({ file: '10.1.0.2' });
  });
  t.deepEqual(readdirSync(join(dataDir, 'n1')).sort(), ['10.1.0.3', 'lock']);
});

test('last_reserved_ip.<set> holds the bare address; missing or garbage reads as none', async (t) => {
  const dataDir = tempDir(t);
  const dir = join(dataDir, 'n1');
  await withStore(dataDir, 'n1', (s) => {
    t.is(s.lastReserved(0), undefined);
    s.setLastReserved(0, a('10.1.0.7'));
    s.setLastReserved(1, a('fd00::7'));
    s.setLastReserved(0, a('10.1.0.8'));
  });
  t.is(readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8'), '10.1.0.8');
  t.is(readFileSync(join(dir, 'last_reserved_ip.1'), 'utf8'), 'fd00::7');
  writeFileSync(join(dir, 'last_reserved_ip.2'), '');
  writeFileSync(join(dir, 'last_reserved_ip.3'), '10.1.');
  await withStore(dataDir, 'n1', (s) => {
    t.is(formatAddr(s.lastReserved(0)!), '10.1.0.8');
    t.is(s.lastReserved(2), undefined);
    t.is(s.lastReserved(3), undefined);
  });
});

test('temporary files left by a crash: one a writer would name is replaced, the rest go when reservations are read', async (t) => {
  const dataDir = tempDir(t);
  const dir = join(dataDir, 'n1');
  await withStore(dataDir, 'n1', () => undefined);
  writeFileSync(join(dir, '.ctnet-tmp-123-abc'), 'c1\r\neth0');
  // A dead process with this one's pid: every name this process's writes can pick is taken.
  for (let k = 1; k <= 200; k++) writeFileSync(join(dir, `.ctnet-tmp-${process.pid}-${k}`), 'stale', { mode: 0o600 });
  await withStore(dataDir, 'n1', (s) => s.probeWritable());
  t.true(await withStore(dataDir, 'n1', (s) => s.reserve(a('10.1.0.2'), c1)));
  t.is(readFileSync(join(dir, '10.1.0.2'), 'utf8'), 'c1\r\neth0');
  t.deepEqual(await withStore(dataDir, 'n1', (s) => s.reservations().map((r) => r.text)), ['10.1.0.2']);
  t.deepEqual(readdirSync(dir).sort(), ['10.1.0.2', 'lock']);
});

test('a store that cannot be created is an I/O error (code 5) naming it', async (t) => {
  const dataDir = tempDir(t);
  writeFileSync(join(dataDir, 'file'), '');
  const err = await t.throwsAsync(withStore(join(dataDir, 'file'), 'n1', () => undefined), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.IOFailure);
  t.regex(err?.message ?? '', /IPAM store .*file\/n1/);
});
