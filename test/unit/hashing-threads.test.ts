import t from 'tap';
import { availableParallelism } from 'node:os';
import { hashingThreads } from '../../src/services.ts';

t.test('hashing threads per process: the CPUs shared among the WORKERS processes, at least one', async (t) => {
  t.equal(hashingThreads(1, 1), 1, 'one process on one CPU (a pinned or one-vCPU container)');
  t.equal(hashingThreads(1, 2), 2, 'WORKERS=1 on two CPUs hashes on both');
  t.equal(hashingThreads(2, 2), 1, 'WORKERS=2 on two CPUs: one each, two in all');
  t.equal(hashingThreads(2, 3), 2, 'an uneven share rounds up: no CPU left without a hashing thread');
  t.equal(hashingThreads(8, 2), 1, 'more processes than CPUs: still one each');
  t.equal(hashingThreads(4, 16), 4);
  t.equal(hashingThreads(0, 4), 4, 'a nonsensical worker count is taken as one');
  t.equal(hashingThreads(1), availableParallelism(), 'by default, the CPUs this process may run on');
});
