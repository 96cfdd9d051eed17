import test from 'ava';
import { lockTimeoutMs } from './lock.js';

test('the timeout comes from CTNET_IPAM_LOCK_TIMEOUT_MS, else 30 s', (t) => {
  t.is(lockTimeoutMs({}), 30_000);
  t.is(lockTimeoutMs({ CTNET_IPAM_LOCK_TIMEOUT_MS: '250' }), 250);
  t.is(lockTimeoutMs({ CTNET_IPAM_LOCK_TIMEOUT_MS: 'soon' }), 30_000);
});
