import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import type { DatabaseKind } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { Logger } from '../observability/logger.js';
import type { Trace } from '../observability/tracing.js';
import { withAmbientTransactions } from './ambient-transaction.js';
import { withDatabaseErrors } from './database-errors.js';
import { withQueryTracing } from './query-tracing.js';
import type { Prisma, PrismaClient } from './generated/sqlite/client.js';
import type { DirectTransaction, ExecuteRows, SelectRows, SqliteConnection } from './sqlite-connection.js';
import { SQLITE_BUSY_TIMEOUT_MS } from './sqlite-settings.js';

/**
 * The one client shape repositories are written against. Both generated clients expose the same
 * model API (the models are shared); the PostgreSQL client is adapted to this type once, here.
 */
export type Db = PrismaClient;
/** The same model API, bound to one interactive transaction. */
export type DbTransaction = Prisma.TransactionClient;

export interface Database {
  readonly kind: DatabaseKind;
  readonly prisma: Db;
  /** Runs work whose writes through `prisma` commit together (see ambient-transaction.ts). */
  readonly atomically: UnitOfWork;
  /** Resolves when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl: string;
  databaseKind: DatabaseKind;
  logger: Logger;
  /** Connection pool size (PostgreSQL). */
  poolSize?: number;
  /**
   * How long a new PostgreSQL connection may take before the query fails (default 3 s: the server
   * answers 503 instead of hanging while the database is down). A CLI command waits longer.
   */
  connectTimeoutMs?: number;
  /** SQLite: fail when the file does not exist instead of creating an empty database. */
  mustExist?: boolean;
  /** Tracing on: a span per query (query-tracing.ts). */
  trace?: Trace;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database: Omit<Database, 'atomically'> & DirectPaths = options.databaseKind === 'sqlite' ? await openSqlite(options) : await openPostgres(options);
  // Repositories see a failing database as one coded error (503), never as a driver's own error.
  // With tracing on, every query is a span (query-tracing.ts); off, the client is not wrapped at all.
  const traced = options.trace ? withQueryTracing(database.prisma, options.databaseKind, options.trace) : database.prisma;
  const { selectRows, executeRows, directTransaction, ...rest } = database;
  const direct = options.trace ? {} : { selectRows, executeRows, directTransaction };
  return { ...rest, ...withAmbientTransactions(withDatabaseErrors(traced), direct) };
}

/** The file behind a `file:` URL (configuration has made it absolute). */
export function sqlitePath(databaseUrl: string): string {
  return databaseUrl.slice('file:'.length);
}

/** A deadlock guard on raw-sql.ts's own PostgreSQL statements: ours are single-row lookups and writes. */
const PG_DIRECT_QUERY_TIMEOUT_MS = 10_000;

/** A statement that only reads: what Prisma sends for find*, count and aggregate, and our pings. */
const PLAIN_SELECT = /^\s*SELECT\b/i;

/** raw-sql.ts's ways around Prisma (each undefined where the database does not offer it). */
type DirectPaths = { selectRows?: SelectRows; executeRows?: ExecuteRows; directTransaction?: DirectTransaction };

async function openSqlite({ databaseUrl, mustExist = false }: DatabaseOptions): Promise<Omit<Database, 'atomically'> & DirectPaths> {
  const path = sqlitePath(databaseUrl);
  if (mustExist) {
    // stat, not open: closing any descriptor of the file would drop this process's SQLite locks on it.
    const found = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!found?.isFile()) throw new AppError('not_found', `no SQLite database at ${path} (start the server or run gatehouse migrate to create it)`);
  } else {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await createPrivateFile(path);
  }
  // Loaded here, not at the top: a server on PostgreSQL never loads SQLite's drivers (@libsql/client
  // alone is about 18 MB of resident memory).
  const [{ PrismaLibSql }, { PrismaClient }, { default: Sqlite }, { openSqliteConnection }] = await Promise.all([
    import('@prisma/adapter-libsql'),
    import('./generated/sqlite/client.js'),
    import('libsql'),
    import('./sqlite-connection.js'),
  ]);
  // The adapter runs on one long-lived connection with its statements kept (sqlite-connection.ts),
  // which carries the settings in sqlite-settings.ts.
  let directTransaction: DirectTransaction | undefined;
  let executeRows: ExecuteRows | undefined;
  let writing: SqliteConnection | undefined;
  class OneConnectionLibSql extends PrismaLibSql {
    override createClient(config: { url: string }) {
      // The adapter's shadow database (Prisma's tooling, never the server) asks for ':memory:'.
      if (config.url === ':memory:') return openSqliteConnection(Sqlite, ':memory:', SQLITE_BUSY_TIMEOUT_MS);
      const connection = openSqliteConnection(Sqlite, path, SQLITE_BUSY_TIMEOUT_MS);
      // raw-sql.ts's transactions without Prisma, on this same (writing) connection.
      directTransaction = connection.directTransaction;
      executeRows = connection.executeRows;
      writing = connection;
      return connection;
    }
  }
  /**
   * The adapter holds one lock from a transaction's BEGIN to its COMMIT, and every query outside a
   * transaction waits for it too: under a sign-in flood, a token request's lookups queued behind
   * every login's counter transactions. In WAL mode readers never wait for the writer, so a plain
   * SELECT outside a transaction goes to a second, read-only connection, and sees what was last
   * committed (the same read-committed view as on PostgreSQL's pool). Writes, `... RETURNING`, and
   * everything inside a transaction stay on the writing connection, in order.
   */
  let selectRows: SelectRows | undefined;
  class ReadingLibSql extends OneConnectionLibSql {
    override async connect() {
      const writer = await super.connect();
      if (path === ':memory:') return writer;
      const reading = new PrismaLibSql({ url: `file:${path}` });
      reading.createClient = () => {
        const connection = openSqliteConnection(Sqlite, path, SQLITE_BUSY_TIMEOUT_MS, { readOnly: true });
        // raw-sql.ts reads on this connection directly, outside transactions (synchronous calls: they
        // never interleave with the adapter's own use of it).
        selectRows = connection.selectRows;
        return connection;
      };
      const reader = await reading.connect();
      const write = writer.queryRaw.bind(writer);
      writer.queryRaw = (query) => (PLAIN_SELECT.test(query.sql) ? reader.queryRaw(query) : write(query));
      const dispose = writer.dispose.bind(writer);
      writer.dispose = async () => {
        await reader.dispose();
        await dispose();
      };
      return writer;
    }
  }
  const prisma = new PrismaClient({ adapter: new ReadingLibSql({ url: `file:${path}` }) });
  // WAL is a property of the file: set once, kept by every later connection and process.
  await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  return {
    kind: 'sqlite',
    prisma,
    // Set when the adapter connected (the query above); looked up at each call, should it reconnect.
    // A SELECT goes to the writing connection when nothing holds it or waits for it (it then runs
    // outside any transaction, and nothing can start one before it returns: the call is synchronous).
    // Each commit makes SQLite drop the reading connection's page cache (another connection wrote),
    // so on the reading one every lookup after a write read its pages again from the file; the
    // writing connection's cache survives its own commits. The reading connection keeps the reads
    // that would otherwise wait for a transaction.
    selectRows:
      selectRows &&
      ((sql, params) => (writing?.idle() && PLAIN_SELECT.test(sql) ? writing.selectRows(sql, params) : selectRows!(sql, params))),
    directTransaction: directTransaction && ((work) => directTransaction!(work)),
    executeRows: executeRows && ((sql, params) => executeRows!(sql, params)),
    ping: (timeoutMs = 2000) => withTimeout(prisma.$queryRawUnsafe('SELECT 1'), timeoutMs),
    close: () => prisma.$disconnect(),
  };
}

async function openPostgres({ databaseUrl, logger, poolSize = 10, connectTimeoutMs = 3000 }: DatabaseOptions): Promise<Omit<Database, 'atomically'> & Required<DirectPaths>> {
  const [{ PrismaPg }, { PrismaClient }, { default: pg }] = await Promise.all([
    import('@prisma/adapter-pg'),
    import('./generated/postgres/client.js'),
    import('pg'),
  ]);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that the server drops (restart, failover, admin command) must never crash the
  // process: the pool keeps this listener for its whole life (the adapter's own one goes at disconnect).
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'postgres connection lost'));
  const adapter = new PrismaPg(pool);
  const prisma = new PrismaClient({ adapter }) as unknown as Db;
  // raw-sql.ts's reads outside transactions, on the same pool. Every timestamp column is
  // `timestamp(3)` (no time zone) holding UTC, as the adapter writes and reads it: parameters go as
  // UTC text, values come back as UTC instants whatever the process's TZ. Unnamed statements, like the
  // adapter's own: a connection pooler in transaction mode (PgBouncer) keeps working.
  const TIMESTAMP = 1114;
  const INT8 = 20;
  const types = {
    getTypeParser: (oid: number, format?: string) =>
      oid === TIMESTAMP ? (text: string) => new Date(`${text.replace(' ', 'T')}Z`) : oid === INT8 ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format as never),
  };
  const query = (on: Pool | PoolClient, sql: string, params: readonly unknown[]) => {
    const values = params.map((v) => (v instanceof Date ? v.toISOString().slice(0, -1) : v));
    return on.query<Record<string, unknown>>({ text: sql, values, types, query_timeout: PG_DIRECT_QUERY_TIMEOUT_MS } as unknown as string);
  };
  const selectRows: SelectRows = async (sql, params) => (await query(pool, sql, params)).rows;
  const executeRows: ExecuteRows = async (sql, params) => (await query(pool, sql, params)).rowCount ?? 0;
  /**
   * raw-sql.ts's transactions without Prisma: BEGIN, `work`'s statements, COMMIT on one connection
   * of the pool (ROLLBACK when anything fails). Waiting for a free connection is bounded by the
   * pool's connect timeout, each statement by PG_DIRECT_QUERY_TIMEOUT_MS. A connection that failed
   * under a statement (dropped, timed out) is closed instead of returned to the pool: the server
   * rolls its transaction back.
   */
  const directTransaction: DirectTransaction = async (work) => {
    const connection = await pool.connect();
    let lost: Error | undefined;
    // A connection checked out of the pool has no listener of the pool's: without this one, the
    // server ending it (restart, pg_terminate_backend) would be an uncaught error and end the process.
    const onError = (err: Error) => {
      lost = err;
    };
    connection.on('error', onError);
    const run = async (sql: string, params: readonly unknown[]) => {
      try {
        return await query(connection, sql, params);
      } catch (err) {
        // The server's own answers carry a severity; anything else means the connection failed.
        if (typeof (err as { severity?: unknown }).severity !== 'string') lost = err as Error;
        throw err;
      }
    };
    try {
      await run('BEGIN', []);
      const result = await work({
        $queryRawUnsafe: async <T>(sql: string, ...params: unknown[]) => (await run(sql, params)).rows as T,
        $executeRawUnsafe: async (sql: string, ...params: unknown[]) => (await run(sql, params)).rowCount ?? 0,
      });
      await run('COMMIT', []);
      return result;
    } catch (err) {
      if (!lost) {
        await run('ROLLBACK', []).catch((rollbackFailed: Error) => {
          lost = rollbackFailed;
        });
      }
      throw err;
    } finally {
      connection.off('error', onError);
      connection.release(lost);
    }
  };
  return {
    kind: 'postgres',
    prisma,
    selectRows,
    executeRows,
    directTransaction,
    ping: (timeoutMs = 2000) => withTimeout(prisma.$queryRawUnsafe('SELECT 1'), timeoutMs),
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

/**
 * The database holds password hashes and sessions: owner-only. SQLite gives its -wal and -shm files
 * the same mode as the database file, so creating that file first with 0600 covers all three.
 *
 * Never opens a file that already exists. SQLite's locks are POSIX advisory locks, which belong to
 * the process: closing ANY descriptor of the database file drops every lock the process holds on it,
 * including those of its open SQLite connections, while SQLite goes on believing it holds them. With
 * its shared lock gone, another process (the CLI) closing its connection finds itself "last", checkpoints
 * and unlinks the -wal and -shm files under the server, whose later writes then go to an unlinked file
 * and are lost. So: create the file exclusively when it is missing, and only chmod an existing one.
 */
export async function createPrivateFile(path: string): Promise<void> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
