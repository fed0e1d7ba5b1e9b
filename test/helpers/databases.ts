import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import pg from 'pg';
import type { Test } from 'tap';
import type { DatabaseKind } from '../../src/config/schema.ts';
import { tempDir } from './temp-dir.ts';

/** Where the suite finds PostgreSQL (an admin connection able to CREATE DATABASE). */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Both databases, for suites that must hold on each (contract tests, races). */
export const DATABASE_KINDS: readonly DatabaseKind[] = ['sqlite', 'postgres'];

/** The database for suites that run once: SQLite unless TEST_DATABASE=postgres (CI runs both). */
export const DEFAULT_KIND: DatabaseKind = process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

export interface TestDatabase {
  kind: DatabaseKind;
  url: string;
}

/** A new, empty database of the given kind, dropped when the test ends. */
export async function createTestDatabase(t: Test, kind: DatabaseKind = DEFAULT_KIND): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = await tempDir(t, 'gatehouse-db-');
    return { kind, url: `file:${join(dir, 'gatehouse.db')}` };
  }
  const name = `gatehouse_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  t.teardown(() => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { kind, url: url.href };
}

/** Runs SQL with the raw driver, independent of the code under test; returns the rows. */
export async function rawQuery(db: TestDatabase, sql: string): Promise<Record<string, unknown>[]> {
  if (db.kind === 'sqlite') {
    const client = createClient({ url: db.url });
    try {
      return (await client.execute(sql)).rows as unknown as Record<string, unknown>[];
    } finally {
      client.close();
    }
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
