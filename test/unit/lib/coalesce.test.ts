import t from 'tap';
import { coalesce } from '../../../src/lib/coalesce.ts';

/** A unit of work per call that the test finishes by hand. */
function manual() {
  const runs: { key: string; finish: (err?: Error) => void }[] = [];
  const work = (key: string) =>
    new Promise<void>((resolve, reject) => runs.push({ key, finish: (err) => (err ? reject(err) : resolve()) }));
  return { runs, work };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('a burst for one key costs two runs: the one under way, and one after it for the late callers', async (t) => {
  const { runs, work } = manual();
  const run = coalesce(work);
  const first = run('g1');
  const late = Array.from({ length: 9 }, () => run('g1'));
  await tick();
  t.equal(runs.length, 1, 'nothing runs beside the first');
  runs[0]!.finish();
  await first;
  await tick();
  t.equal(runs.length, 2, 'the late callers share one run, started after the first ended');
  let settled = false;
  void Promise.all(late).then(() => (settled = true));
  await tick();
  t.notOk(settled, 'and they wait for it, not for the run that began before they asked');
  runs[1]!.finish();
  await Promise.all(late);
  await tick();
  t.equal(runs.length, 2, 'and no more');
});

t.test('after a burst settles, the next call starts a fresh run at once', async (t) => {
  const { runs, work } = manual();
  const run = coalesce(work);
  const a = run('g1');
  runs[0]!.finish();
  await a;
  await tick();
  const b = run('g1');
  await tick();
  t.equal(runs.length, 2, 'a fresh run');
  runs[1]!.finish();
  await b;
});

t.test('keys are independent', async (t) => {
  const { runs, work } = manual();
  const run = coalesce(work);
  const calls = [run('g1'), run('g2'), run('g3')];
  await tick();
  t.same(runs.map((r) => r.key), ['g1', 'g2', 'g3'], 'three keys, three runs side by side');
  for (const r of runs) r.finish();
  await Promise.all(calls);
});

t.test('a failure reaches the callers of that run, and the next run still happens', async (t) => {
  const { runs, work } = manual();
  const run = coalesce(work);
  const first = run('g1');
  const late = run('g1');
  runs[0]!.finish(new Error('deadlock'));
  await t.rejects(first, /deadlock/);
  await tick();
  t.equal(runs.length, 2, 'the queued run starts although the first failed');
  runs[1]!.finish();
  await t.resolves(late);
});
