import type { DbTransaction } from './database.js';

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
 */
export type RawClient = Pick<DbTransaction, '$queryRawUnsafe' | '$executeRawUnsafe'>;

/** The rows a SELECT returns (`T` names the selected columns). */
export function select<T>(db: RawClient, sql: string, ...params: unknown[]): Promise<T[]> {
  return db.$queryRawUnsafe<T[]>(sql, ...params);
}

/** The number of rows an INSERT, UPDATE or DELETE changed. */
export function execute(db: RawClient, sql: string, ...params: unknown[]): Promise<number> {
  return db.$executeRawUnsafe(sql, ...params);
}
