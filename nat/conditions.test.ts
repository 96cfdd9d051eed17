import test from 'ava';
import { CniError, ErrorCode } from '../cni/errors.js';
import { validateConditions, validateInterfaceArg } from './conditions.js';

test('match arguments pass through unchanged', (t) => {
  const ok = ['-s', '192.168.0.0/16', '!', '-d', '10.0.0.1', '-m', 'set', '--match-set', 'allowed src', 'src', '-i', 'eth0', '-s10.0.0.0/8', '-f', '--dst-type', 'LOCAL'];
  t.deepEqual(validateConditions(ok, 'conditionsV4'), ok);
  t.deepEqual(validateConditions([], 'conditionsV4'), []);
});

test('not a list of strings: code 7', (t) => {
  for (const bad of ['-s 10.0.0.1', null, [1], [''], { a: 1 }]) {
    const err = t.throws(() => validateConditions(bad, 'conditionsV4'), { instanceOf: CniError });
    t.is(err?.code, ErrorCode.InvalidNetworkConfig);
  }
});

test('targets, tables and commands are refused, abbreviated or attached', (t) => {
  for (const arg of ['-j', '--jump', '--jump=ACCEPT', '--jum', '-jACCEPT', '-g', '--goto', '-t', '--table=filter', '--tab', '-A', '-D', '-I', '-N', '-X', '-F', '-P', '-fj', '-nj', '--wait', '--append']) {
    t.throws(() => validateConditions(['-s', '10.0.0.1', arg, 'ACCEPT'], 'conditionsV4'), { message: /conditionsV4\[2\]/ }, arg);
  }
});

test('nothing can break out of its line in a restore batch', (t) => {
  t.throws(() => validateConditions(['-s', '10.0.0.1\n-A FORWARD -j ACCEPT'], 'conditionsV6'), { message: 'conditionsV6[1] contains a control character' });
  t.throws(() => validateConditions(['x\r'], 'c'), { message: /control character/ });
  t.throws(() => validateConditions(['x'.repeat(300)], 'c'), { message: /longer than 256/ });
});

test('interface names for -i/-o: valid, and never read as an option', (t) => {
  t.is(validateInterfaceArg('br-0', 'bridge'), 'br-0');
  t.throws(() => validateInterfaceArg('-j', 'bridge'), { instanceOf: CniError, message: `bridge "-j" cannot be used in firewall rules: it starts with '-'` });
  t.throws(() => validateInterfaceArg('!x', 'bridge'), { message: /starts with '!'/ });
  t.throws(() => validateInterfaceArg('a b', 'bridge'), { instanceOf: CniError });
});
