import { LibsqlError, type Client, type InStatement, type ResultSet, type Transaction, type TransactionMode } from '@libsql/client';
import type DatabaseType from 'libsql';
import { SQLITE_CONNECTION_PRAGMAS } from './sqlite-settings.js';

type Connection = InstanceType<typeof DatabaseType>;
type Statement = ReturnType<Connection['prepare']>;
type SqlValue = null | string | number | bigint | ArrayBuffer | Uint8Array | boolean | Date;

/** Prepared statements kept per connection. Prisma's SQL is fixed per query shape: a few dozen in use. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * What raw-sql.ts writes without Prisma: `work` runs inside BEGIN IMMEDIATE ... COMMIT on the writing
 * connection, with a client whose raw queries run there at once (ROLLBACK when `work` throws). While
 * it runs, Prisma's own queries and transactions on that connection wait for it (and it waits for
 * theirs), so `work` must only use the client it is given.
 */
export type DirectTransaction = <T>(work: (tx: DirectClient) => Promise<T>) => Promise<T>;
export interface DirectClient {
  $queryRawUnsafe<T = unknown>(sql: string, ...params: unknown[]): Promise<T>;
  $executeRawUnsafe(sql: string, ...params: unknown[]): Promise<number>;
}

/** What raw-sql.ts reads without Prisma: the rows of a SELECT as objects keyed by column name. */
export type SelectRows = (sql: string, params: readonly unknown[]) => Record<string, unknown>[] | Promise<Record<string, unknown>[]>;

/** What raw-sql.ts writes without Prisma outside a transaction: one statement, committed on its own; the rows it changed. */
export type ExecuteRows = (sql: string, params: readonly unknown[]) => Promise<number>;

export type SqliteConnection = Client & {
  selectRows: SelectRows;
  executeRows: ExecuteRows;
  directTransaction: DirectTransaction;
  /** True when nothing holds the connection or waits for it: a statement run now runs outside any transaction. */
  idle(): boolean;
};

/**
 * The connection Prisma's libsql adapter runs every SQLite query on: ONE `libsql` connection for the
 * life of the process, with its statements prepared once and kept.
 *
 * @libsql/client (what the adapter would use) hands its connection to each transaction and opens a
 * fresh one for whatever comes next, and nothing ever closes the one the transaction took. Every
 * transaction therefore paid for opening the file, reading and parsing the schema, applying the
 * connection settings and preparing each statement again, and left an open connection (its page
 * cache, a file descriptor) for the garbage collector. On the refresh grant that was most of the
 * request's CPU.
 *
 * One connection is enough: the adapter already runs one statement at a time and holds its lock from
 * BEGIN to COMMIT, so a transaction never shares the connection with anything else. Transactions are
 * always BEGIN IMMEDIATE (sqlite-settings.ts says why). Only what the adapter calls is
 * implemented: execute, transaction (execute, commit, rollback, close), executeMultiple and close.
 * Beside them, raw-sql.ts's direct paths: `selectRows` (on the reading connection, or on this one when idle), and
 * `executeRows` and `directTransaction` (on the writing one), which take turns with the adapter's
 * statements and transactions (one holder at a time, in arrival order).
 */
export function openSqliteConnection(
  Database: typeof DatabaseType,
  path: string,
  busyTimeoutMs: number,
  options: { readOnly?: boolean } = {},
): SqliteConnection {
  const db: Connection = new Database(path, { timeout: busyTimeoutMs });
  db.exec(SQLITE_CONNECTION_PRAGMAS);
  // A reading connection (database.ts) refuses any write, should one ever be sent its way.
  if (options.readOnly) db.exec('PRAGMA query_only = ON');
  const statements = new Map<string, { statement: Statement; returnsData: boolean; columns: string[]; columnTypes: string[] }>();

  const prepared = (sql: string) => {
    const cached = statements.get(sql);
    if (cached) {
      // Most recently used last: the first entry is the one to evict.
      statements.delete(sql);
      statements.set(sql, cached);
      return cached;
    }
    const statement = db.prepare(sql);
    statement.safeIntegers(true);
    let returnsData = true;
    try {
      statement.raw(true);
    } catch {
      // raw() refuses a statement that returns no rows.
      returnsData = false;
    }
    // A statement's result columns are fixed once prepared (SQLite re-prepares it after a schema
    // change, which only migrations make, and a migrated server restarts).
    const definitions = returnsData ? statement.columns() : [];
    const entry = { statement, returnsData, columns: definitions.map((c) => c.name), columnTypes: definitions.map((c) => c.type ?? '') };
    statements.set(sql, entry);
    if (statements.size > STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
    return entry;
  };

  const run = (stmt: InStatement): ResultSet => {
    const sql = typeof stmt === 'string' ? stmt : stmt.sql;
    const args = typeof stmt === 'string' ? [] : toArgs(stmt.args);
    try {
      const { statement, returnsData, columns, columnTypes } = prepared(sql);
      if (!returnsData) {
        const info = statement.run(args);
        return resultSet([], [], [], info.changes, BigInt(info.lastInsertRowid));
      }
      const rows = (statement.all(args) as unknown[][]).map(fromSqlRow);
      return resultSet(columns, columnTypes, rows, 0, undefined);
    } catch (err) {
      throw asLibsqlError(err);
    }
  };

  /**
   * A SELECT run directly, for raw-sql.ts: parameters and results as Prisma's adapter would map them
   * for a raw query (a Date in as ISO-8601 text with +00:00, DATETIME columns out as Date, integers as
   * numbers), so the rows are the same whichever way they were read.
   */
  const selectRows = (sql: string, params: readonly unknown[]): Record<string, unknown>[] => {
    try {
      const { statement, columns, columnTypes } = prepared(sql);
      const raw = statement.all(params.map(toSelectArg)) as unknown[][];
      return raw.map((values) => {
        const row: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) {
          const v = values[i];
          row[columns[i]!] = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && DATETIME.test(columnTypes[i]!) ? new Date(v) : v;
        }
        return row;
      });
    } catch (err) {
      throw asLibsqlError(err);
    }
  };

  /**
   * One holder of the connection at a time, in arrival order: a direct transaction, or the adapter's
   * transaction (BEGIN to COMMIT) or single statement. The adapter serialises its own use already;
   * this also orders it with direct transactions, which the adapter does not know about.
   */
  let tail: Promise<void> = Promise.resolve();
  /** Holders and those waiting for their turn. */
  let holders = 0;
  const hold = async (): Promise<() => void> => {
    let release!: () => void;
    const previous = tail;
    holders += 1;
    let released = false;
    tail = new Promise<void>((resolve) => {
      release = () => {
        if (released) return;
        released = true;
        holders -= 1;
        resolve();
      };
    });
    await previous;
    return release;
  };
  /** Nobody holds the connection or waits for it, and no transaction is open on it. */
  const idle = () => holders === 0 && !db.inTransaction;

  const execute = (sql: string, params: readonly unknown[]): number => {
    try {
      const { statement, returnsData } = prepared(sql);
      const args = params.map(toSelectArg);
      if (returnsData) return (statement.all(args) as unknown[]).length;
      return statement.run(args).changes;
    } catch (err) {
      throw asLibsqlError(err);
    }
  };
  /** One statement on its own (SQLite commits it by itself), in its turn on the writing connection. */
  const executeRows: ExecuteRows = async (sql, params) => {
    const release = await hold();
    try {
      return execute(sql, params);
    } finally {
      release();
    }
  };
  const directClient: DirectClient = {
    $queryRawUnsafe: async <T>(sql: string, ...params: unknown[]) => selectRows(sql, params) as T,
    $executeRawUnsafe: async (sql: string, ...params: unknown[]) => execute(sql, params),
  };
  const directTransaction: DirectTransaction = async (work) => {
    const release = await hold();
    try {
      run('BEGIN IMMEDIATE');
      let result;
      try {
        result = await work(directClient);
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
      try {
        run('COMMIT');
      } finally {
        // A COMMIT that failed (disk full, I/O error) can leave the transaction open.
        if (db.inTransaction) db.exec('ROLLBACK');
      }
      return result;
    } finally {
      release();
    }
  };

  let closed = false;
  const client = {
    closed: false,
    protocol: 'file',
    selectRows,
    executeRows,
    directTransaction,
    idle,
    async execute(stmt: InStatement, args?: unknown) {
      if (args !== undefined) throw new TypeError('execute(sql, args) is not used here');
      const release = await hold();
      try {
        return run(stmt);
      } finally {
        release();
      }
    },
    async executeMultiple(sql: string) {
      try {
        db.exec(sql);
      } catch (err) {
        throw asLibsqlError(err);
      }
    },
    async transaction(_mode?: TransactionMode): Promise<Transaction> {
      const release = await hold();
      try {
        run('BEGIN IMMEDIATE');
      } catch (err) {
        release();
        throw err;
      }
      let done = false;
      const end = (sql: string) => {
        if (done) return;
        done = true;
        try {
          if (!db.inTransaction) return;
          run(sql);
        } finally {
          // A COMMIT that failed (disk full, I/O error) can leave the transaction open: the
          // connection is shared, so it must not stay inside it.
          if (db.inTransaction) db.exec('ROLLBACK');
          release();
        }
      };
      return {
        get closed() {
          return done;
        },
        async execute(stmt: InStatement) {
          if (done) throw new LibsqlError('The transaction is closed', 'TRANSACTION_CLOSED');
          return run(stmt);
        },
        async commit() {
          end('COMMIT');
        },
        async rollback() {
          end('ROLLBACK');
        },
        close() {
          end('ROLLBACK');
        },
      } as unknown as Transaction;
    },
    close() {
      if (closed) return;
      closed = true;
      client.closed = true;
      statements.clear();
      db.close();
    },
  };
  return client as unknown as SqliteConnection;
}

const DATETIME = /^(DATETIME|TIMESTAMP)$/i;

function toSelectArg(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) throw new TypeError('undefined cannot be passed as argument to the database');
  return value;
}

function toArgs(args: unknown): unknown[] | Record<string, unknown> {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(toSql);
  const named: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args as Record<string, SqlValue>)) {
    named[name[0] === '@' || name[0] === '$' || name[0] === ':' ? name.slice(1) : name] = toSql(value);
  }
  return named;
}

/** As @libsql/client binds values (its default integer mode, "number"). */
function toSql(value: SqlValue): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('Only finite numbers can be passed as arguments');
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Date) return value.valueOf();
  if (value === undefined) throw new TypeError('undefined cannot be passed as argument to the database');
  return value;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** As @libsql/client returns values: integers as numbers (refusing what a number cannot hold), blobs as ArrayBuffers. */
function fromSqlRow(row: unknown[]): unknown[] {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v === 'bigint') {
      if (v < MIN_SAFE || v > MAX_SAFE) throw new RangeError('Received integer which cannot be safely represented as a JavaScript number');
      row[i] = Number(v);
    } else if (v instanceof Buffer) {
      row[i] = v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
    }
  }
  return row;
}

function resultSet(columns: string[], columnTypes: string[], rows: unknown[][], rowsAffected: number, lastInsertRowid: bigint | undefined): ResultSet {
  return { columns, columnTypes, rows, rowsAffected, lastInsertRowid, toJSON: () => ({ columns, columnTypes, rows, rowsAffected }) } as unknown as ResultSet;
}

/** libsql's SqliteError as @libsql/client reports it: base code name, extended code, raw code. */
function asLibsqlError(err: unknown): unknown {
  const e = err as { name?: string; message?: string; code?: string; rawCode?: number };
  if (e?.name !== 'SqliteError' || typeof e.code !== 'string') return err;
  const base = e.rawCode === undefined ? 'SQLITE_UNKNOWN' : (BASE_CODES[e.rawCode & 0xff] ?? `SQLITE_UNKNOWN_${e.rawCode & 0xff}`);
  return new LibsqlError(e.message ?? 'SQLite error', base, e.code, e.rawCode, err as Error);
}

// SQLite's primary result codes (https://sqlite.org/rescode.html), by number.
const BASE_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR', 2: 'SQLITE_INTERNAL', 3: 'SQLITE_PERM', 4: 'SQLITE_ABORT', 5: 'SQLITE_BUSY', 6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM', 8: 'SQLITE_READONLY', 9: 'SQLITE_INTERRUPT', 10: 'SQLITE_IOERR', 11: 'SQLITE_CORRUPT',
  12: 'SQLITE_NOTFOUND', 13: 'SQLITE_FULL', 14: 'SQLITE_CANTOPEN', 15: 'SQLITE_PROTOCOL', 16: 'SQLITE_EMPTY',
  17: 'SQLITE_SCHEMA', 18: 'SQLITE_TOOBIG', 19: 'SQLITE_CONSTRAINT', 20: 'SQLITE_MISMATCH', 21: 'SQLITE_MISUSE',
  22: 'SQLITE_NOLFS', 23: 'SQLITE_AUTH', 24: 'SQLITE_FORMAT', 25: 'SQLITE_RANGE', 26: 'SQLITE_NOTADB',
  27: 'SQLITE_NOTICE', 28: 'SQLITE_WARNING',
};
