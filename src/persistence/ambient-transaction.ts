import { AsyncLocalStorage } from 'node:async_hooks';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { Db, DbTransaction } from './database.js';
import { translateDatabaseError } from './database-errors.js';
import { DIRECT_EXECUTE, DIRECT_SELECT, DIRECT_TRANSACTION } from './raw-sql.js';
import type { DirectTransaction, ExecuteRows, SelectRows } from './sqlite-connection.js';

/** Waiting for a connection (PostgreSQL pool) or the write lock (SQLite) before giving up with a 503. */
const MAX_WAIT_MS = 5_000;
/** A deadlock guard: a use case's writes are a handful of statements. */
const TIMEOUT_MS = 10_000;

const RAW = new Set(['$queryRaw', '$queryRawUnsafe', '$executeRaw', '$executeRawUnsafe']);

/**
 * A unit of work for the repositories without changing them: `atomically(work)` opens a transaction
 * and, for the code `work` runs (its async context), every query of the returned client goes into it.
 * Outside `atomically` the client is the plain one. On SQLite the transaction holds the database
 * for its length, so the work inside must be database work only.
 * The direct paths of raw-sql.ts (reads, single writes and transactions, on both databases, only with
 * tracing off) are offered outside a unit of work only.
 */
export function withAmbientTransactions(
  base: Db,
  direct: { selectRows?: SelectRows; executeRows?: ExecuteRows; directTransaction?: DirectTransaction } = {},
): { prisma: Db; atomically: UnitOfWork } {
  const current = new AsyncLocalStorage<DbTransaction>();
  const client = (): Record<string | symbol, unknown> => (current.getStore() ?? base) as never;
  const delegates = new Map<string, unknown>();

  const delegate = (model: string) => {
    let proxy = delegates.get(model);
    if (!proxy) {
      const methods = (base as unknown as Record<string, object>)[model]!;
      proxy = new Proxy(methods, {
        get: (_target, method) => {
          const target = client()[model] as Record<string | symbol, unknown>;
          const value = target[method];
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      delegates.set(model, proxy);
    }
    return proxy;
  };

  const prisma = new Proxy(base, {
    get(target, prop, receiver) {
      if (prop === DIRECT_SELECT) return current.getStore() ? undefined : direct.selectRows;
      if (prop === DIRECT_EXECUTE) return current.getStore() ? undefined : direct.executeRows;
      if (prop === DIRECT_TRANSACTION) return current.getStore() ? undefined : direct.directTransaction;
      if (prop === '$transaction') {
        return (arg: unknown, options?: unknown) => {
          const tx = current.getStore();
          if (tx && typeof arg === 'function') return (arg as (tx: DbTransaction) => unknown)(tx);
          return (target.$transaction as (a: unknown, o?: unknown) => unknown)(arg, options);
        };
      }
      if (typeof prop === 'string' && RAW.has(prop)) {
        return (...args: unknown[]) => (client()[prop] as (...a: unknown[]) => unknown)(...args);
      }
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop === 'string' && /^[a-z]/.test(prop) && typeof value === 'object' && value !== null) return delegate(prop);
      return value;
    },
  });

  const atomically: UnitOfWork = async (work) => {
    if (current.getStore()) return work();
    let inside: { error: unknown } | undefined;
    try {
      return await base.$transaction(
        (tx) =>
          current.run(tx, async () => {
            try {
              return await work();
            } catch (error) {
              inside = { error };
              throw error;
            }
          }),
        { maxWait: MAX_WAIT_MS, timeout: TIMEOUT_MS },
      );
    } catch (err) {
      // The work's own errors (already translated, or a refusal) pass; the transaction's are the database's.
      throw inside?.error === err ? err : translateDatabaseError(err);
    }
  };

  return { prisma, atomically };
}
