import test from 'ava';
import { parseOwner, reservationsOf, serializeOwner } from './owner.js';

test('reservation content: the reference format, legacy ID-only files, empty files', (t) => {
  t.is(serializeOwner({ containerId: ' c1 ', ifname: 'eth0' }), 'c1\r\neth0');
  t.deepEqual(parseOwner('c1\r\neth0'), { containerId: 'c1', ifname: 'eth0' });
  t.deepEqual(parseOwner('c1\r\neth0\n'), { containerId: 'c1', ifname: 'eth0' });
  t.deepEqual(parseOwner('c1'), { containerId: 'c1' });
  t.is(parseOwner(''), undefined);
  t.is(parseOwner(' \n'), undefined);
});

test('an attachment owns its exact reservations, or else its legacy ones', (t) => {
  const items = [
    { id: 1, owner: { containerId: 'c1', ifname: 'eth0' } },
    { id: 2, owner: { containerId: 'c1' } },
    { id: 3, owner: { containerId: 'c1', ifname: 'net1' } },
    { id: 4, owner: { containerId: 'c2' } },
  ];
  t.deepEqual(reservationsOf(items, 'c1', 'eth0').map((i) => i.id), [1]);
  t.deepEqual(reservationsOf(items, 'c2', 'eth0').map((i) => i.id), [4]);
  t.deepEqual(reservationsOf(items, 'c1', 'net9').map((i) => i.id), [2]);
  t.deepEqual(reservationsOf(items, 'c3', 'eth0'), []);
});
