import test from 'ava';
import { settleAll } from './settle.js';

test('settleAll: the values in order; on failure, waits for every step, then throws the first failure', async (t) => {
  t.deepEqual(await settleAll([Promise.resolve(1), Promise.resolve('a')] as const), [1, 'a']);
  let slowDone = false;
  const slow = new Promise<void>((resolve) => setTimeout(() => ((slowDone = true), resolve()), 50));
  const err = await t.throwsAsync(settleAll([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second'))] as const));
  t.is(err?.message, 'first');
  t.true(slowDone, 'the slow step finished before the failure was reported');
});
