// What nft-encoding refuses (the caller then runs iptables-restore), and the order it emits in.
// That the encodings equal iptables-nft's own is checked against the kernel in integration/nft-add.test.ts.
import test from 'ava';
import { encodeRule } from './nft-encoding.js';

const TAG = ['-m', 'comment', '--comment', 'ctnet:0123456789abcdef x'];

test('forms outside the encoded set are refused, not approximated', (t) => {
  const refused: string[][] = [
    ['-m', 'set', '--match-set', 'allowed', 'src', '-j', 'ACCEPT'],
    ['!', '-p', 'tcp', '-j', 'ACCEPT'],
    ['-p', 'sctp', '--dport', '80', '-j', 'ACCEPT'],
    ['-p', 'tcp', '!', '--dport', '80', '-j', 'ACCEPT'],
    ['-p', 'tcp', '--sport', '1', '--dport', '2', '-j', 'ACCEPT'],
    ['--dport', '80', '-j', 'ACCEPT'],
    ['-s', '0.0.0.0/0', '-j', 'ACCEPT'],
    ['-s', '10.0.0.0/8', '-s', '10.1.0.0/16', '-j', 'ACCEPT'],
    ['-s', 'fd00::/8', '-j', 'ACCEPT'],
    ['-s', 'example.com', '-j', 'ACCEPT'],
    ['-o', 'an-interface-name-too-long', '-j', 'ACCEPT'],
    ['-m', 'mark', '--mark', '0x1', '-j', 'ACCEPT'],
    ['-m', 'conntrack', '--ctstate', 'BOGUS', '-j', 'ACCEPT'],
    ['-m', 'conntrack', '--ctstatus', 'ASSURED', '-j', 'ACCEPT'],
    ['-m', 'comment', '--comment', 'x'.repeat(256), '-j', 'ACCEPT'],
    ['-p', 'tcp', '-m', 'multiport', '--dports', Array.from({ length: 16 }, (_, i) => `${i + 1}`).join(','), '-j', 'ACCEPT'],
    ['-m', 'conntrack', '-j', 'ACCEPT'],
    ['-m', 'comment', '-m', 'mark', '--mark', '0x1/0x1', '-j', 'ACCEPT'],
    ['-p', 'tcp', '-m', 'tcp', '-j', 'ACCEPT'],
    ['-j', 'LOG'],
    ['-j', 'REJECT', '--reject-with', 'tcp-reset'],
    ['-j', 'MASQUERADE', '--random'],
    ['-j', 'MYCHAIN'],
    ['-j', 'ACCEPT', '-s', '10.0.0.1'],
    ['-s', '10.0.0.1'],
  ];
  for (const args of refused) t.is(encodeRule(4, 'filter', [...args]), undefined, args.join(' '));
  t.is(encodeRule(4, 'filter', ['-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', '10.0.0.1:80']), undefined, 'DNAT outside the nat table');
  t.is(encodeRule(4, 'nat', ['-j', 'DNAT', '--to-destination', '10.0.0.1:80']), undefined, 'DNAT to a port without -p');
  t.is(encodeRule(6, 'nat', ['-p', 'tcp', '-j', 'DNAT', '--to-destination', '10.0.0.1']), undefined, 'an IPv4 destination in IPv6');
});

test('header matches come first in iptables order (interfaces, protocol, source, destination), then the rest as written', (t) => {
  const names = (args: string[]) => encodeRule(4, 'nat', args)!.exprs.map((e) => e.toString('latin1', 4).split('\0')[0]);
  const a = names(['-d', '10.0.0.1/32', '-p', 'tcp', '--dport', '80', '-s', '10.0.0.0/8', '-o', 'br0', '-i', 'eth0', ...TAG, '-j', 'ACCEPT']);
  t.deepEqual(a, ['meta', 'cmp', 'meta', 'cmp', 'meta', 'cmp', 'payload', 'cmp', 'payload', 'cmp', 'payload', 'cmp', 'match', 'counter', 'immediate']);
  t.is(encodeRule(4, 'nat', ['-p', 'udp', '-j', 'ACCEPT'])!.proto, 17);
  t.is(encodeRule(4, 'nat', ['-j', 'CTNET-DN-0123456789abcdef'])!.proto, 0);
  // A prefix that is not whole bytes loads the whole address and masks it.
  t.deepEqual(names(['!', '-d', '224.0.0.0/4', '-j', 'MASQUERADE']), ['payload', 'bitwise', 'cmp', 'counter', 'target']);
});
