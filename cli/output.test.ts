import test from 'ava';
import { keyValues, parseFormat, table } from './output.js';

test('tables align columns three spaces apart, without trailing blanks', (t) => {
  t.is(table([['NAME', 'DRIVER'], ['bridge', 'bridge'], ['a', '']]), 'NAME     DRIVER\nbridge   bridge\na');
});

test('--format and KEY=VALUE options are checked', (t) => {
  t.is(parseFormat('json'), 'json');
  t.throws(() => parseFormat('yaml'), { message: /unknown --format "yaml"/ });
  t.deepEqual(keyValues(['a=b', 'c=d=e', 'f='], '--label'), { a: 'b', c: 'd=e', f: '' });
  t.throws(() => keyValues(['=x'], '--label'), { message: 'invalid --label "=x": expected KEY=VALUE' });
});
