import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHashThreads } from '../../../src/accounts/hash-threads.ts';

/** Polls until `check` holds; a hang guard, not a timing assertion. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (check()) return;
    await sleep(50);
  }
  throw new Error(`still waiting: ${what}`);
}

t.test('threads start when needed, answer, and stop after sitting idle', async (t) => {
  const threads = createHashThreads({ idleMs: 200 });
  t.teardown(() => threads.close());
  t.equal(threads.alive(), 0, 'nothing started before the first job');
  const jobs = [threads.hash('first of two'), threads.hash('second of two')] as const;
  // Counted while both run: once one is done its thread may retire before the other finishes (a
  // loaded machine), so a count after both answered would depend on the machine's speed.
  t.equal(threads.alive(), 2, 'two jobs at once run on two threads');
  const [a, b] = await Promise.all(jobs);
  t.equal(await threads.verify(a, 'first of two'), true);
  t.equal(await threads.verify(b, 'first of two'), false);
  await until(() => threads.alive() === 0, 'idle threads to stop');
  t.equal(threads.alive(), 0, 'both stopped once idle');
  // A job after the threads stopped starts a fresh one and still gets its answer.
  t.equal(await threads.verify(b, 'second of two'), true, 'a stopped thread is replaced by the next job');
  t.equal(threads.alive(), 1);
});

t.test('a thread that keeps working is not stopped', async (t) => {
  const threads = createHashThreads({ idleMs: 30 });
  t.teardown(() => threads.close());
  const phc = await threads.hash('kept busy');
  // Back-to-back jobs, together far longer than idleMs: the thread is idle only between them (a
  // microtask), never for idleMs, so it is neither stopped mid-job nor replaced.
  for (let i = 0; i < 10; i++) t.equal(await threads.verify(phc, i % 2 ? 'kept busy' : 'nope'), i % 2 === 1);
  t.equal(threads.alive(), 1, 'one thread did every job');
});
