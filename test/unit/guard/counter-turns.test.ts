import t from 'tap';
import { createMemoryAttemptStore, decideAndWrite, type AttemptStore, type Counter, type Decision } from '../../../src/guard/counter.ts';

/**
 * decideAndWrite: calls for one key take turns within a process (no compare-and-set lost to
 * ourselves), other keys do not wait, and a lost race against another writer is still read again.
 */
const increment = (c: Counter): Decision => ({ admit: true, next: { ...c, count: c.count + 1 } });

/** The memory store, with a pause in each read and write (as a database round trip has) and a count of writes. */
function slowStore(): AttemptStore & { writes: number } {
  const inner = createMemoryAttemptStore();
  const pause = () => new Promise((resolve) => setImmediate(resolve));
  const store = {
    writes: 0,
    get: async (key: string) => (await pause(), inner.get(key)),
    compareAndSet: async (...args: Parameters<AttemptStore['compareAndSet']>) => {
      store.writes++;
      await pause();
      return inner.compareAndSet(...args);
    },
    delete: inner.delete,
    sweep: inner.sweep,
  };
  return store;
}

t.test('50 callers on one key at once: 50 writes, none lost, in arrival order', async (t) => {
  const store = slowStore();
  const order: number[] = [];
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      decideAndWrite(store, 'login:ip:203.0.113.7', 1, (c) => {
        order.push(i);
        return increment(c);
      }),
    ),
  );
  t.equal(results.length, 50);
  t.equal((await store.get('login:ip:203.0.113.7'))!.count, 50, 'every attempt counted');
  t.equal(store.writes, 50, 'each wrote once: no compare-and-set lost to a caller of this process');
  t.same(order, Array.from({ length: 50 }, (_, i) => i), 'first come, first decided');
});

t.test('other keys do not wait for a busy one', async (t) => {
  const inner = createMemoryAttemptStore();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  // Reads of "a" hang until released, like a database that stalls on one row.
  const store: AttemptStore = { ...inner, get: async (key) => (key === 'a' ? (await held, inner.get(key)) : inner.get(key)) };
  let aDone = false;
  const a = decideAndWrite(store, 'a', 1, increment).then(() => (aDone = true));
  const b = await decideAndWrite(store, 'b', 1, increment);
  t.ok(b.admit, '"b" decided');
  t.equal(aDone, false, 'while "a" still waits');
  release();
  await a;
  t.equal((await inner.get('a'))!.count, 1);
});

t.test('a write lost to another process is read and decided again', async (t) => {
  const inner = createMemoryAttemptStore();
  let interfered = false;
  const store: AttemptStore = {
    ...inner,
    get: (key) => inner.get(key),
    compareAndSet: async (key, expected, next, now) => {
      if (!interfered) {
        // Another process writes first.
        interfered = true;
        await inner.compareAndSet(key, expected, { count: 10, windowStart: 0, nextAllowedAt: 0, lockedUntil: 0, level: 0 }, now);
      }
      return inner.compareAndSet(key, expected, next, now);
    },
  };
  const d = await decideAndWrite(store, 'k', 1, (c) => increment(c));
  t.ok(d.admit && d.next?.count === 11, 'decided again on what the other wrote');
  t.equal((await inner.get('k'))!.count, 11);
});

t.test('a failing write does not block the key for the next caller', async (t) => {
  const inner = createMemoryAttemptStore();
  let fail = true;
  const store: AttemptStore = {
    ...inner,
    compareAndSet: async (...args) => {
      if (fail) {
        fail = false;
        throw new Error('database down');
      }
      return inner.compareAndSet(...args);
    },
  };
  const [first, second] = await Promise.allSettled([decideAndWrite(store, 'k', 1, increment), decideAndWrite(store, 'k', 1, increment)]);
  t.equal(first.status, 'rejected');
  t.equal(second.status, 'fulfilled', 'the second went ahead');
  t.equal((await inner.get('k'))!.count, 1);
});
