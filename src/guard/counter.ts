import { unavailable } from '../errors.js';

/**
 * One counter row: how many attempts (or failures) a key has made, when the next attempt is allowed,
 * whether it is locked, and a version for compare-and-set. Times are epoch milliseconds.
 */
export interface Counter {
  count: number;
  windowStart: number;
  nextAllowedAt: number;
  lockedUntil: number;
  level: number;
  version: number;
}

export const EMPTY: Counter = { count: 0, windowStart: 0, nextAllowedAt: 0, lockedUntil: 0, level: 0, version: 0 };

/** A decision: admit (and write `next`), or refuse until `retryAt` (and write `next` if given). */
export type Decision = { admit: true; next: Counter } | { admit: false; retryAt: number; next?: Counter };

/** The port: read a counter, and write it only if nobody else has since (`expectedVersion`; 0 = absent). */
export interface AttemptStore {
  get(key: string): Promise<Counter | undefined>;
  compareAndSet(key: string, expectedVersion: number, next: Omit<Counter, 'version'>, now: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Drops counters untouched since `before` (they hold no live state). */
  sweep(before: number): Promise<number>;
}

export function createMemoryAttemptStore(): AttemptStore {
  const rows = new Map<string, Counter & { updatedAt: number }>();
  return {
    async get(key) {
      const row = rows.get(key);
      return row && { count: row.count, windowStart: row.windowStart, nextAllowedAt: row.nextAllowedAt, lockedUntil: row.lockedUntil, level: row.level, version: row.version };
    },
    async compareAndSet(key, expectedVersion, next, now) {
      const row = rows.get(key);
      if ((row?.version ?? 0) !== expectedVersion) return false;
      rows.set(key, { ...next, version: expectedVersion + 1, updatedAt: now });
      return true;
    },
    async delete(key) {
      rows.delete(key);
    },
    async sweep(before) {
      let n = 0;
      for (const [k, row] of rows) if (row.updatedAt < before) n += Number(rows.delete(k));
      return n;
    },
  };
}

/** The tail of each key's line of callers in this process, per store. */
const lines = new WeakMap<AttemptStore, Map<string, Promise<void>>>();

/**
 * Runs `work` after every earlier call for the same store and key in this process has finished, in
 * arrival order. The compare-and-set stays what makes a decision safe (other processes, other
 * instances); this only keeps one process from racing itself. A flood from one address puts every
 * attempt on the same counter: side by side, all but one lost each round and read again, a round
 * trip per loss — on PostgreSQL the sign-ins' retries took the connection pool from token requests.
 */
async function inLine<T>(store: AttemptStore, key: string, work: () => Promise<T>): Promise<T> {
  let byKey = lines.get(store);
  if (!byKey) lines.set(store, (byKey = new Map()));
  const before = byKey.get(key);
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = before ? before.then(() => mine) : mine;
  byKey.set(key, tail);
  try {
    if (before) await before;
    return await work();
  } finally {
    done();
    if (byKey.get(key) === tail) byKey.delete(key);
  }
}

/**
 * Applies a decision atomically: read, decide, compare-and-set, and on a lost race read and decide
 * again. The write that wins is the one whose result counts — the decision is never check-then-act.
 * Calls for one key take turns within the process (inLine), so a race is lost only to another process.
 */
export function decideAndWrite(store: AttemptStore, key: string, now: number, decide: (current: Counter) => Decision): Promise<Decision> {
  return inLine(store, key, () => decideAndWriteNow(store, key, now, decide));
}

async function decideAndWriteNow(
  store: AttemptStore,
  key: string,
  now: number,
  decide: (current: Counter) => Decision,
): Promise<Decision> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const current = (await store.get(key)) ?? EMPTY;
    const decision = decide(current);
    if (!decision.next) return decision;
    if (await store.compareAndSet(key, current.version, decision.next, now)) return decision;
    // Lost a race: spread the retries out a little so a crowd on one key drains quickly.
    if (attempt >= 2) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, attempt * 2)));
  }
  // Hundreds of writers on one counter: answer 503 (retry shortly) rather than guess a decision.
  throw unavailable('too many simultaneous attempts on one account or address; try again in a moment', new Error(`contention on ${key}`));
}
