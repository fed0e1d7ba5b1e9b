import t from 'tap';
import { createPasswordHasher } from '../../../src/accounts/password-hasher.ts';
import { AppError } from '../../../src/errors.ts';

t.test('the wait for a hashing slot is bounded: beyond it, a 503 with Retry-After at once', async (t) => {
  const hasher = createPasswordHasher({ concurrency: 1, maxQueued: 2 });
  const phc = await hasher.hash('a quiet lantern harbour');
  t.equal(hasher.saturated(), false, 'idle');
  // One runs, two wait, the fourth is refused before it waits or hashes anything.
  const accepted = [hasher.verify(phc, 'a quiet lantern harbour'), hasher.verify(phc, 'wrong'), hasher.verify(phc, 'wrong again')];
  t.equal(hasher.pending(), 3);
  t.equal(hasher.saturated(), true, 'every slot busy and the queue full');
  const refused = hasher.verify(phc, 'one too many');
  await t.rejects(refused, { code: 'temporarily_unavailable', statusCode: 503 });
  const err = (await refused.catch((e: unknown) => e)) as AppError;
  t.equal(err.headers['retry-after'], '2', 'Retry-After from the error catalogue');
  t.same(await Promise.all(accepted), [true, false, false], 'the queued ones still get their answer');
  t.equal(hasher.pending(), 0);
  t.equal(hasher.saturated(), false, 'room again');
  t.equal(await hasher.verify(phc, 'a quiet lantern harbour'), true, 'and the queue takes work again once it drained');
});
