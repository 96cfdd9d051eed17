import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { parseResolvConf, readResolvConf } from './resolv.js';
import { tempDir } from './testing.js';

test('resolv.conf becomes the DNS section', (t) => {
  const text = ['# comment', 'nameserver 10.0.0.53', 'nameserver fd00::53 ; trailing', 'domain example.com', 'search a.example b.example', 'search c.example', 'options ndots:2 edns0', 'sortlist 10.0.0.0', ''].join('\n');
  t.deepEqual(parseResolvConf(text), {
    nameservers: ['10.0.0.53', 'fd00::53'],
    domain: 'example.com',
    search: ['a.example', 'b.example', 'c.example'],
    options: ['ndots:2', 'edns0'],
  });
  t.deepEqual(parseResolvConf(''), {});
});

test('an unreadable resolvConf is an I/O error naming the file', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 1.1.1.1\n');
  t.deepEqual(readResolvConf(join(dir, 'resolv.conf')), { nameservers: ['1.1.1.1'] });
  const err = t.throws(() => readResolvConf(join(dir, 'missing')), { instanceOf: CniError });
  t.is(err?.code, ErrorCode.IOFailure);
  t.regex(err?.message ?? '', /cannot read resolvConf .*missing/);
});
