import t from 'tap';
import { createBackgroundTasks } from '../../../src/lib/background-tasks.ts';

t.test('tasks run after the caller goes on; failures go to onError; idle waits for all', async (t) => {
  const failures: [string, string][] = [];
  const tasks = createBackgroundTasks((name, err) => failures.push([name, (err as Error).message]));
  const done: string[] = [];
  tasks.run('first', async () => void done.push('first'));
  tasks.run('broken', async () => {
    throw new Error('smtp down');
  });
  tasks.run('chained', async () => {
    tasks.run('scheduled later', async () => void done.push('later'));
    done.push('chained');
  });
  t.same(done, [], 'nothing ran during the caller\'s turn');
  t.equal(tasks.pending(), 3);
  await tasks.idle();
  t.same(done.sort(), ['chained', 'first', 'later'], 'idle also waits for tasks scheduled by tasks');
  t.same(failures, [['broken', 'smtp down']]);
  t.equal(tasks.pending(), 0);
});

t.test('a task starts only when its delay is over, not in the turn that answers the request', async (t) => {
  const waiting: (() => void)[] = [];
  const tasks = createBackgroundTasks(() => {}, { schedule: (start) => void waiting.push(start) });
  const done: string[] = [];
  tasks.run('mail', async () => void done.push('mail'));
  // Several turns of the event loop (I/O and immediates) go by: the task has not started.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  t.same(done, [], 'not yet');
  t.equal(waiting.length, 1, 'one start scheduled');
  waiting[0]!();
  await tasks.idle();
  t.same(done, ['mail'], 'it runs once the delay is over');
});
