import test from 'ava';
import { createHash } from 'node:crypto';
import type { AttachmentRef } from './types.js';
import { attachmentChain, attachmentKey, keyOfChain, MAX_CHAIN_NAME, parseTag, ruleTag } from './names.js';

const ref = { network: 'n1', containerId: 'c1', ifname: 'eth0' };

test('the key is 16 hex characters, stable, and differs by owner, network, container and interface', (t) => {
  const k = attachmentKey(ref);
  t.regex(k, /^[0-9a-f]{16}$/);
  t.is(attachmentKey({ ...ref }), k);
  t.is(attachmentKey({ ...ref, owner: 'ctnet' }), k, 'ctnet is the default owner');
  const others = [{ ...ref, owner: 'portmap' }, { ...ref, network: 'n2' }, { ...ref, containerId: 'c2' }, { ...ref, ifname: 'eth1' }].map(attachmentKey);
  t.is(new Set([k, ...others]).size, 5);
  t.throws(() => attachmentKey({ ...ref, owner: 'Bad Owner' }));
});

test('the key is the head of SHA-256 over owner, network, container id and interface, so records and tags stay valid across versions', (t) => {
  const refs: AttachmentRef[] = [ref, { network: 'réseau', containerId: 'c1', ifname: 'eth0', owner: 'portmap' }];
  for (const r of refs) {
    const expected = createHash('sha256').update([r.owner ?? 'ctnet', r.network, r.containerId, r.ifname].join('\n')).digest('hex').slice(0, 16);
    t.is(attachmentKey(r), expected);
  }
});

test('chain names stay within 28 characters and give their key back', (t) => {
  const name = attachmentChain('CTNET-DN', attachmentKey(ref));
  t.true(name.length <= MAX_CHAIN_NAME);
  t.is(keyOfChain(name), attachmentKey(ref));
  t.is(keyOfChain('CTNET-DNAT'), undefined);
  t.throws(() => attachmentChain('A-VERY-LONG-PREFIX', attachmentKey(ref)), { message: /longer than 28/ });
});

test('tags: key first, parseable, odd interface characters neutralized, at most 255 characters', (t) => {
  const tag = ruleTag({ ...ref, owner: 'portmap', ifname: 'e"t\\h' });
  t.regex(tag, /^ctnet:[0-9a-f]{16} portmap net=n1 id=c1 if=e_t_h$/);
  t.deepEqual(parseTag(tag), { key: attachmentKey({ ...ref, owner: 'portmap', ifname: 'e"t\\h' }), owner: 'portmap', network: 'n1' });
  t.is(parseTag('ctnet: published ports'), undefined);
  t.is(parseTag('CNI firewall plugin rules'), undefined);
  const long = ruleTag({ ...ref, containerId: 'x'.repeat(400) });
  t.is(long.length, 255);
  t.is(parseTag(long)?.key, attachmentKey({ ...ref, containerId: 'x'.repeat(400) }));
});
