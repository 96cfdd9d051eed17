import test from 'ava';
import { parseCniArgs } from './args.js';
import { CniError, ErrorCode } from './errors.js';
import { validateContainerId, validateInterfaceName, validateNetworkName } from './validate.js';

test('CNI_ARGS parses pairs and keeps "=" inside values', (t) => {
  const m = parseCniArgs('IP=10.0.0.5;MAC=aa:bb:cc:dd:ee:ff;X=a=b', ['IP', 'MAC', 'X']);
  t.is(m.get('IP'), '10.0.0.5');
  t.is(m.get('X'), 'a=b');
  t.is(parseCniArgs(undefined).size, 0);
  t.is(parseCniArgs('').size, 0);
});

test('unknown CNI_ARGS keys are refused with code 4 unless IgnoreUnknown', (t) => {
  const e = t.throws(() => parseCniArgs('FOO=1', ['IP']), { instanceOf: CniError });
  t.is(e?.code, ErrorCode.InvalidEnvironment);
  t.regex(e!.message, /unknown key FOO.*IgnoreUnknown=1/);
  t.is(parseCniArgs('IgnoreUnknown=1;FOO=1').get('FOO'), '1');
  t.is(parseCniArgs('IgnoreUnknown=true;FOO=1').get('FOO'), '1');
  t.throws(() => parseCniArgs('IgnoreUnknown=0;FOO=1'));
  t.notThrows(() => parseCniArgs('K8S_POD_NAME=p;K8S_POD_NAMESPACE=n'));
});

test('malformed CNI_ARGS pairs are refused', (t) => {
  for (const raw of ['FOO', '=1', 'A=1;B']) {
    t.is(t.throws(() => parseCniArgs(raw), { instanceOf: CniError })?.code, ErrorCode.InvalidEnvironment, raw);
  }
});

test('interface names follow the kernel rules', (t) => {
  for (const ok of ['eth0', 'a', 'x'.repeat(15), 'net1.100', 'é'.repeat(7)]) t.notThrows(() => validateInterfaceName(ok), ok);
  for (const bad of ['', '.', '..', 'x'.repeat(16), 'eth0:1', 'a/b', 'a b', 'a\nb', 'é'.repeat(8)]) {
    t.is(t.throws(() => validateInterfaceName(bad), { instanceOf: CniError })?.code, ErrorCode.InvalidEnvironment, JSON.stringify(bad));
  }
});

test('container ids and network names follow libcni', (t) => {
  t.notThrows(() => validateContainerId('abc-1.2_3'));
  t.is(t.throws(() => validateContainerId(''), { instanceOf: CniError })?.code, ErrorCode.UnknownContainer);
  t.is(t.throws(() => validateContainerId('-x'), { instanceOf: CniError })?.code, ErrorCode.InvalidEnvironment);
  t.is(t.throws(() => validateContainerId('a;rm -rf /'), { instanceOf: CniError })?.code, ErrorCode.InvalidEnvironment);
  t.notThrows(() => validateNetworkName('my-net.1'));
  for (const bad of ['', undefined, 5, 'a b', '$(x)']) {
    t.is(t.throws(() => validateNetworkName(bad), { instanceOf: CniError })?.code, ErrorCode.InvalidNetworkConfig);
  }
});
