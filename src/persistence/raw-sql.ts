import { translateDatabaseError } from './database-errors.js';
import type { DirectTransaction, ExecuteRows, SelectRows } from './sqlite-connection.js';

/**
 * Hand-written SQL for the statements every token request runs (oidc-provider's lookups and writes,
 * the client and account lookups, the refresh-rotation claim), through Prisma's raw queries.
 *
 * A model query (`findFirst`, `upsert`, ...) goes through Prisma's whole pipeline: validation, the
 * query plan, its interpreter and the mapping of the result. Measured on the SQLite file, a
 * `client.findUnique` by primary key costs about 220 µs of CPU and the same SELECT as
 * `$queryRawUnsafe` about 70 µs; a refresh-token rotation runs eleven statements. Raw queries still
 * go through the driver adapter, so the ambient transaction (ambient-transaction.ts), the reading
 * connection (database.ts), error translation and tracing apply unchanged.
 *
 * The SQL is the same on both databases: tables and columns by their mapped (snake_case) names,
 * parameters as `$1`, `$2`, ... in the order they appear (PostgreSQL's placeholders; SQLite reads them
 * as named parameters numbered by first appearance, which binds the same values). Dates go in as
 * `Date` (the adapters write them as the model queries do: ISO-8601 text on SQLite, timestamp(3) on
 * PostgreSQL) and come back as `Date` on both.
 *
 * A SELECT outside any transaction skips Prisma altogether (and so does a single write: `execute`). On SQLite it runs at once on the
 * writing connection when nothing holds it, else on the reading one (database.ts), with the same mapping of values
 * (sqlite-connection.ts); on PostgreSQL it is one query on the pool Prisma uses, with timestamps read
 * and written as UTC like the adapter does (database.ts).
 * That is the client given as `db` carrying DIRECT_SELECT, which the ambient client
 * (ambient-transaction.ts) does only outside a unit of work and with tracing off (a traced query must
 * have its span).
 */
export interface RawClient {
  $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): PromiseLike<T>;
  $executeRawUnsafe(sql: string, ...values: unknown[]): PromiseLike<number>;
}

export const DIRECT_SELECT = Symbol('gatehouse.directSelect');
export const DIRECT_EXECUTE = Symbol('gatehouse.directExecute');
export const DIRECT_TRANSACTION = Symbol('gatehouse.directTransaction');

/**
 * SQLite: a transaction of hand-written SQL run on the writing connection without Prisma
 * (sqlite-connection.ts), when the client given as `db` offers it (outside a unit of work, tracing
 * off); undefined otherwise. The refresh grant's commit is one: claim, consume, successor.
 */
export function directTransaction(db: unknown): DirectTransaction | undefined {
  return (db as { [DIRECT_TRANSACTION]?: DirectTransaction })[DIRECT_TRANSACTION];
}

/** The rows a SELECT returns (`T` names the selected columns). */
export function select<T>(db: RawClient, sql: string, ...params: unknown[]): Promise<T[]> {
  const direct = (db as { [DIRECT_SELECT]?: SelectRows })[DIRECT_SELECT];
  if (direct) {
    try {
      return Promise.resolve(direct(sql, params) as T[] | Promise<T[]>).catch((err: unknown) => Promise.reject(translateDatabaseError(err)));
    } catch (err) {
      return Promise.reject(translateDatabaseError(err));
    }
  }
  return Promise.resolve(db.$queryRawUnsafe<T[]>(sql, ...params));
}

/**
 * The number of rows an INSERT, UPDATE or DELETE changed. Outside a unit of work (with tracing off)
 * the statement skips Prisma like a SELECT does: on SQLite it runs on the writing connection in its
 * turn (sqlite-connection.ts), committed on its own as Prisma's would be; on PostgreSQL it is one
 * query on the pool. A unique or other constraint violation comes out as the driver's error (a data
 * answer: database-errors.ts), anything else translated.
 */
export function execute(db: RawClient, sql: string, ...params: unknown[]): Promise<number> {
  const direct = (db as { [DIRECT_EXECUTE]?: ExecuteRows })[DIRECT_EXECUTE];
  if (direct) {
    try {
      return direct(sql, params).catch((err: unknown) => Promise.reject(translateDatabaseError(err)));
    } catch (err) {
      return Promise.reject(translateDatabaseError(err));
    }
  }
  return Promise.resolve(db.$executeRawUnsafe(sql, ...params));
}
