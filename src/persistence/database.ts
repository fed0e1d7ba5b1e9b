import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DatabaseKind } from '../config/schema.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { Logger } from '../observability/logger.js';
import { withAmbientTransactions } from './ambient-transaction.js';
import { withDatabaseErrors } from './database-errors.js';
import type { Prisma, PrismaClient } from './generated/sqlite/client.js';

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
}

/** SQLite waits this long for a lock held by another connection or process before failing. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = options.databaseKind === 'sqlite' ? await openSqlite(options) : await openPostgres(options);
  // Repositories see a failing database as one coded error (503), never as a driver's own error.
  return { ...database, ...withAmbientTransactions(withDatabaseErrors(database.prisma)) };
}

async function openSqlite({ databaseUrl }: DatabaseOptions): Promise<Omit<Database, 'atomically'>> {
  const path = databaseUrl.slice('file:'.length);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await createPrivateFile(path);
  const [{ PrismaLibSql }, { PrismaClient }] = await Promise.all([
    import('@prisma/adapter-libsql'),
    import('./generated/sqlite/client.js'),
  ]);
  const prisma = new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${path}`, timeout: SQLITE_BUSY_TIMEOUT_MS }) });
  // WAL lets readers proceed during a write and is persistent in the file; NORMAL sync is safe with WAL.
  await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
  return {
    kind: 'sqlite',
    prisma,
    ping: (timeoutMs = 2000) => withTimeout(prisma.$queryRawUnsafe('SELECT 1'), timeoutMs),
    close: () => prisma.$disconnect(),
  };
}

async function openPostgres({ databaseUrl, logger, poolSize = 10 }: DatabaseOptions): Promise<Omit<Database, 'atomically'>> {
  const [{ PrismaPg }, { PrismaClient }, { default: pg }] = await Promise.all([
    import('@prisma/adapter-pg'),
    import('./generated/postgres/client.js'),
    import('pg'),
  ]);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    // Fail fast when the server is down, so requests get a 503 instead of hanging.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that the server drops (restart, failover, admin command) must never crash the
  // process: the pool keeps this listener for its whole life (the adapter's own one goes at disconnect).
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'postgres connection lost'));
  const adapter = new PrismaPg(pool);
  const prisma = new PrismaClient({ adapter }) as unknown as Db;
  return {
    kind: 'postgres',
    prisma,
    ping: (timeoutMs = 2000) => withTimeout(prisma.$queryRawUnsafe('SELECT 1'), timeoutMs),
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

/** The database holds password hashes and sessions: owner-only. SQLite gives its -wal and -shm files
 * the same mode as the database file, so creating that file first with 0600 covers all three. */
export async function createPrivateFile(path: string): Promise<void> {
  const handle = await open(path, 'a', 0o600);
  await handle.close();
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
