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

/**
 * Applies a decision atomically: read, decide, compare-and-set, and on a lost race read and decide
 * again. The write that wins is the one whose result counts — the decision is never check-then-act.
 */
export async function decideAndWrite(
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
