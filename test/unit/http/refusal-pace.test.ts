import t from 'tap';
import { createRefusalPace, MAX_HELD_REFUSALS, REFUSAL_HOLD_MS } from '../../../src/http/refusal-pace.ts';
import { RETRY_AFTER_UNAVAILABLE } from '../../../src/errors.ts';

/** A sleep the test ends by hand: which holds are waiting, and for how long each was asked. */
function manualSleep() {
  const waiting: { ms: number; wake: () => void }[] = [];
  return { waiting, sleep: (ms: number) => new Promise<void>((wake) => waiting.push({ ms, wake })) };
}

t.test('a refusal is held for the hold, then released; at most maxHeld at a time, the rest at once', async (t) => {
  const clock = manualSleep();
  const pace = createRefusalPace({ holdMs: 700, maxHeld: 2, sleep: clock.sleep });
  let released = 0;
  const first = pace.hold().then(() => released++);
  const second = pace.hold().then(() => released++);
  t.equal(pace.held(), 2);
  t.same(clock.waiting.map((w) => w.ms), [700, 700], 'each asked for the hold');
  await pace.hold();
  t.equal(clock.waiting.length, 2, 'a third, beyond maxHeld, was not held');
  t.equal(released, 0, 'the first two are still held');

  clock.waiting[0]!.wake();
  await first;
  t.equal(released, 1);
  t.equal(pace.held(), 1, 'a released hold makes room');
  const fourth = pace.hold();
  t.equal(clock.waiting.length, 3, 'so the next one is held again');
  clock.waiting[1]!.wake();
  clock.waiting[2]!.wake();
  await Promise.all([second, fourth]);
  t.equal(pace.held(), 0);
});

t.test('a hold that fails still frees its place', async (t) => {
  const pace = createRefusalPace({ holdMs: 10, maxHeld: 1, sleep: () => Promise.reject(new Error('timer gone')) });
  await t.rejects(pace.hold(), /timer gone/);
  t.equal(pace.held(), 0);
});

t.test('no hold configured: nothing waits', async (t) => {
  const clock = manualSleep();
  await createRefusalPace({ holdMs: 0, sleep: clock.sleep }).hold();
  t.equal(clock.waiting.length, 0);
});

t.test('the defaults: held for less than the Retry-After it carries, and bounded', async (t) => {
  t.ok(REFUSAL_HOLD_MS > 0 && REFUSAL_HOLD_MS < RETRY_AFTER_UNAVAILABLE * 1000, `${REFUSAL_HOLD_MS} ms < Retry-After ${RETRY_AFTER_UNAVAILABLE} s`);
  t.ok(MAX_HELD_REFUSALS > 0 && MAX_HELD_REFUSALS <= 4096);
});
