import { AppError, unavailable } from '../errors.js';

/**
 * The one place a database failure becomes a coded error. Our queries are fixed, so whatever the
 * database or its driver throws is either an answer about the data that a repository decides on (a
 * unique or foreign-key violation, a missing row) or the database failing us: a dropped or refused
 * connection, an administrator's `pg_terminate_backend`, a pool or lock timeout, a full disk. The
 * second kind becomes `unavailable` (503 with Retry-After, the request may be retried; nothing was
 * issued). A query the client library refuses before sending it is our bug and stays a 500.
 */
export function translateDatabaseError(err: unknown): unknown {
  if (err instanceof AppError || isDataAnswer(err) || isProgrammingError(err)) return err;
  return unavailable('The service is temporarily unavailable; retry shortly.', err);
}

/** Driver-adapter error kinds that describe the data, not the connection. */
const DATA_KINDS = new Set([
  'UniqueConstraintViolation',
  'NullConstraintViolation',
  'ForeignKeyConstraintViolation',
  'RestrictViolation',
  'LengthMismatch',
  'ValueOutOfRange',
  'InvalidInputValue',
]);

/** Prisma request errors about the data: P2000–P2023 and P2025–P2027 (P2024 is a pool timeout;
 * P2010, a failed raw query, is decided by its cause). */
function isDataAnswer(err: unknown): boolean {
  const e = err as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: string } } } };
  // raw-sql.ts's direct paths throw the driver's own error: SQLite's SQLITE_CONSTRAINT (LibsqlError's
  // code), PostgreSQL's SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation).
  if (e?.code === 'SQLITE_CONSTRAINT' || (typeof e?.code === 'string' && /^2[23][0-9A-Z]{3}$/.test(e.code))) return true;
  const kind = e?.meta?.driverAdapterError?.cause?.kind;
  if (kind !== undefined) return DATA_KINDS.has(kind);
  if (typeof e?.code !== 'string' || !/^P20\d\d$/.test(e.code)) return false;
  const n = Number(e.code.slice(1));
  return n !== 2010 && n !== 2024 && n !== 2028 && n !== 2034 && n <= 2027;
}

/**
 * PostgreSQL aborted the statement or transaction to break a deadlock or a serialization conflict
 * (40P01, 40001: the driver's own code on raw-sql.ts's direct path, Prisma's P2034 on its own). Nothing
 * of it was written: it may be run again. Looks through the `unavailable` error it was translated into.
 */
export function isWriteConflict(err: unknown): boolean {
  for (let e = err as { cause?: unknown; code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: string } } } } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === 'P2034' || e.code === '40P01' || e.code === '40001' || e.meta?.driverAdapterError?.cause?.kind === 'TransactionWriteConflict') return true;
  }
  return false;
}

function isProgrammingError(err: unknown): boolean {
  return (err as { name?: string })?.name === 'PrismaClientValidationError';
}

/**
 * Every query through the returned client throws translated errors. Interactive transactions run
 * their queries through it too; what `$transaction` itself throws (begin, commit, timeouts) is
 * translated where a transaction is opened.
 */
export function withDatabaseErrors<C extends { $extends: (extension: never) => unknown }>(client: C): C {
  return client.$extends({
    query: {
      async $allOperations({ args, query }: { args: unknown; query: (args: unknown) => Promise<unknown> }) {
        try {
          return await query(args);
        } catch (err) {
          throw translateDatabaseError(err);
        }
      },
    },
  } as never) as C;
}
