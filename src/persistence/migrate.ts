import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AppError } from '../errors.js';
import type { DatabaseKind } from '../config/schema.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { packageRoot } from '../lib/package-root.js';
import { createPrivateFile } from './database.js';

/**
 * Applies Prisma-layout migrations (prisma/<provider>/migrations/<timestamp>_<name>/migration.sql)
 * and keeps Prisma's `_prisma_migrations` bookkeeping, so that a real `prisma migrate deploy`
 * accepts the database later. Differences from Prisma, on purpose:
 *   - each script runs in a transaction (both databases have transactional DDL), so a failed script
 *     leaves nothing half-applied: its row keeps the logs and is marked rolled back, and the next
 *     run retries it;
 *   - on SQLite the whole run holds the write lock (BEGIN IMMEDIATE), on PostgreSQL Prisma's own
 *     advisory lock, so instances starting together apply each migration once.
 */
export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
  /** Applied migrations whose file changed since (Prisma warns about these too). */
  modified: string[];
  /** Rows for migrations this version does not know (a newer Gatehouse ran here). */
  unknown: string[];
}

export class MigrationError extends AppError {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super('migration_failed', `migration ${migration} failed and was rolled back: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'MigrationError';
  }
}

const PRISMA_ADVISORY_LOCK = 72707369;

export function migrationsFolder(kind: DatabaseKind): string {
  return join(packageRoot(), 'prisma', kind, 'migrations');
}

export async function readMigrations(kind: DatabaseKind, folder = migrationsFolder(kind)): Promise<Migration[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(folder, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

type Row = { migration_name: string; checksum: string; finished_at: unknown; rolled_back_at: unknown };

/** The few operations the runner needs, over a single connection. */
interface Driver {
  exec(sql: string): Promise<void>;
  /** Runs one migration script atomically: all of it, or (after throwing) none of it. */
  apply(script: string): Promise<void>;
  query(sql: string, params: unknown[]): Promise<Row[]>;
  run(sql: string, params: unknown[]): Promise<void>;
  lock(): Promise<void>;
  unlock(): Promise<void>;
  close(): Promise<void>;
  bookkeepingDdl: string;
  placeholder(n: number): string;
}

export async function migrate(
  kind: DatabaseKind,
  databaseUrl: string,
  options: { migrations?: Migration[]; clock?: Clock } = {},
): Promise<MigrationReport> {
  const migrations = options.migrations ?? (await readMigrations(kind));
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const driver = kind === 'sqlite' ? await sqliteDriver(databaseUrl) : await postgresDriver(databaseUrl);
  const p = driver.placeholder;
  const report: MigrationReport = { applied: [], alreadyApplied: [], modified: [], unknown: [] };
  try {
    await driver.lock();
    try {
      await driver.exec(driver.bookkeepingDdl);
      const rows = await driver.query(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations',
        [],
      );
      const done = new Map(
        rows.filter((r) => r.finished_at != null && r.rolled_back_at == null).map((r) => [r.migration_name, r]),
      );
      const known = new Set(migrations.map((m) => m.name));
      report.unknown = [...done.keys()].filter((name) => !known.has(name)).sort();

      for (const m of migrations) {
        const row = done.get(m.name);
        if (row) {
          report.alreadyApplied.push(m.name);
          if (row.checksum !== m.checksum) report.modified.push(m.name);
          continue;
        }
        const id = randomUUID();
        await driver.run(
          `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, 0)`,
          [id, m.checksum, m.name, now().toISOString()],
        );
        try {
          await driver.apply(m.sql);
        } catch (err) {
          await driver.run(
            `UPDATE _prisma_migrations SET logs = ${p(1)}, rolled_back_at = ${p(2)} WHERE id = ${p(3)}`,
            [String((err as Error)?.message ?? err), now().toISOString(), id],
          );
          throw new MigrationError(m.name, err);
        }
        await driver.run(
          `UPDATE _prisma_migrations SET finished_at = ${p(1)}, applied_steps_count = 1 WHERE id = ${p(2)}`,
          [now().toISOString(), id],
        );
        report.applied.push(m.name);
      }
    } finally {
      await driver.unlock();
    }
  } finally {
    await driver.close();
  }
  return report;
}

async function sqliteDriver(databaseUrl: string): Promise<Driver> {
  const path = databaseUrl.slice('file:'.length);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await createPrivateFile(path);
  const { default: Database } = await import('libsql');
  // Its own connection, outside Prisma, so the run can hold one write lock throughout. It is libsql's
  // plain connection, not @libsql/client: that client's transaction() takes its connection away and
  // nothing closes it afterwards, so every start leaked an open connection (and a descriptor) on the
  // database file. Here the one connection is closed when the run ends. libsql waits for a busy
  // database synchronously (blocking the event loop), so wait briefly there and retry here.
  let db: InstanceType<typeof Database> | undefined;
  const current = () => {
    if (!db?.inTransaction) throw new Error('migration lock not held');
    return db;
  };
  // Real waiting for another process's lock (setTimeout below): wall time, not an injected clock.
  const wallMs = () => systemClock.now().getTime();
  const deadline = wallMs() + 30_000;
  const lock = async () => {
    for (;;) {
      const attempt = new Database(path, { timeout: 50 });
      try {
        attempt.exec('PRAGMA journal_mode = WAL');
        attempt.exec('BEGIN IMMEDIATE');
        db = attempt;
        return;
      } catch (err) {
        attempt.close();
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || wallMs() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50));
      }
    }
  };
  return {
    bookkeepingDdl: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`,
    placeholder: () => '?',
    // The whole run is one IMMEDIATE transaction: other processes wait for it, then see all of it.
    lock,
    unlock: async () => {
      if (db?.inTransaction) db.exec('COMMIT');
    },
    exec: async (sql) => {
      current().exec(sql);
    },
    // Inside the run's transaction each script gets a savepoint of its own.
    apply: async (script) => {
      try {
        current().exec(`SAVEPOINT gatehouse_migration;\n${script}\n;RELEASE gatehouse_migration;`);
      } catch (err) {
        current().exec('ROLLBACK TO gatehouse_migration; RELEASE gatehouse_migration;');
        throw err;
      }
    },
    query: async (sql, params) => current().prepare(sql).all(...params) as Row[],
    run: async (sql, params) => {
      current().prepare(sql).run(...params);
    },
    close: async () => {
      if (db?.inTransaction) db.exec('ROLLBACK');
      db?.close();
      db = undefined;
    },
  };
}

async function postgresDriver(databaseUrl: string): Promise<Driver> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  return {
    bookkeepingDdl: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`,
    placeholder: (n) => `$${n}`,
    lock: async () => {
      await client.query(`SELECT pg_advisory_lock(${PRISMA_ADVISORY_LOCK})`);
    },
    unlock: async () => {
      await client.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK})`).catch(() => {});
    },
    exec: async (sql) => {
      await client.query(sql);
    },
    apply: async (script) => {
      try {
        await client.query(`BEGIN;\n${script}\n;COMMIT;`);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    },
    query: async (sql, params) => (await client.query(sql, params)).rows as Row[],
    run: async (sql, params) => {
      await client.query(sql, params);
    },
    close: async () => client.end(),
  };
}

/**
 * The migrations this version knows that the database has not applied (all of them for a database
 * that does not exist yet). Reads only: never creates the database, a table or a lock. Commands other
 * than `gatehouse migrate` and the server's start use it to refuse an out-of-date schema.
 */
export async function pendingMigrations(kind: DatabaseKind, databaseUrl: string, migrations?: Migration[]): Promise<string[]> {
  const known = (migrations ?? (await readMigrations(kind))).map((m) => m.name);
  const applied = kind === 'sqlite' ? await appliedSqlite(databaseUrl) : await appliedPostgres(databaseUrl);
  return known.filter((name) => !applied.has(name));
}

async function appliedSqlite(databaseUrl: string): Promise<Set<string>> {
  const path = databaseUrl.slice('file:'.length);
  // stat, never open: opening creates the file, and closing a descriptor drops this process's locks.
  const exists = await stat(path).then(() => true, (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(err)));
  if (!exists) return new Set();
  const { default: Database } = await import('libsql');
  const db = new Database(path, { timeout: 5000 });
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").all();
    if (table.length === 0) return new Set();
    const rows = db.prepare('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL').all() as { migration_name: string }[];
    return new Set(rows.map((r) => r.migration_name));
  } finally {
    db.close();
  }
}

async function appliedPostgres(databaseUrl: string): Promise<Set<string>> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const table = await client.query("SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present");
    if (!table.rows[0]?.present) return new Set();
    const { rows } = await client.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
    return new Set(rows.map((r: { migration_name: string }) => r.migration_name));
  } finally {
    await client.end();
  }
}
