import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { DatabaseKind } from '../../src/config/schema.ts';
import { migrate, migrationsFolder, readMigrations, type Migration } from '../../src/persistence/migrate.ts';
import { createTestDatabase, DATABASE_KINDS, rawQuery, type TestDatabase } from '../helpers/databases.ts';

const query = rawQuery;

async function tables(db: TestDatabase): Promise<string[]> {
  const sql =
    db.kind === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
      : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'";
  return (await query(db, sql)).map((r) => String(r.name)).sort();
}

function extra(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: a fresh database gets every migration, once`, async (t) => {
    const db = await createTestDatabase(t, kind);
    const shipped = await readMigrations(kind);
    t.ok(shipped.length >= 1);

    const first = await migrate(kind, db.url);
    t.same(first.applied, shipped.map((m) => m.name));
    t.same(first.alreadyApplied, []);
    t.same(
      await tables(db),
      ['_prisma_migrations', 'attempt_counters', 'audit_events', 'clients', 'ip_bans', 'oidc_payloads', 'one_time_tokens', 'passkey_challenges', 'passkeys', 'recovery_codes', 'refresh_rotations', 'resources', 'revocations', 'totp_factors', 'users'],
    );

    const second = await migrate(kind, db.url);
    t.same(second.applied, [], 'a second start applies nothing');
    t.same(second.alreadyApplied, shipped.map((m) => m.name));
  });

  t.test(`${kind}: bookkeeping is Prisma's own`, async (t) => {
    const db = await createTestDatabase(t, kind);
    await migrate(kind, db.url);
    const rows = await query(db, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    const shipped = await readMigrations(kind);
    t.equal(rows.length, shipped.length);
    for (const [i, m] of shipped.entries()) {
      const row = rows[i]!;
      const raw = await readFile(join(migrationsFolder(kind), m.name, 'migration.sql'));
      t.equal(row.migration_name, m.name);
      t.equal(row.checksum, createHash('sha256').update(raw).digest('hex'), 'checksum = SHA-256 hex of the raw file');
      t.match(String(row.id), /^[0-9a-f-]{36}$/);
      t.ok(row.finished_at, 'finished');
      t.notOk(row.rolled_back_at);
      t.equal(Number(row.applied_steps_count), 1);
    }
  });

  t.test(`${kind}: a failing migration leaves nothing half-written and is retried`, async (t) => {
    const db = await createTestDatabase(t, kind);
    const shipped = await readMigrations(kind);
    const broken = extra(
      '29990101000000_broken',
      'CREATE TABLE "half_done" ("id" TEXT PRIMARY KEY);\nINSERT INTO "no_such_table" VALUES (1);',
    );
    await t.rejects(migrate(kind, db.url, { migrations: [...shipped, broken] }), {
      name: 'MigrationError',
      migration: '29990101000000_broken',
    });
    t.notOk((await tables(db)).includes('half_done'), 'the first statement was rolled back too');
    const [row] = await query(db, "SELECT * FROM _prisma_migrations WHERE migration_name = '29990101000000_broken'");
    t.ok(row, 'the failure is recorded');
    t.match(String(row!.logs), /no_such_table/);
    t.notOk(row!.finished_at);
    t.ok(row!.rolled_back_at, 'marked rolled back, so it does not block the next deploy');

    const fixed = extra('29990101000000_broken', 'CREATE TABLE "half_done" ("id" TEXT PRIMARY KEY);');
    const report = await migrate(kind, db.url, { migrations: [...shipped, fixed] });
    t.same(report.applied, ['29990101000000_broken']);
    t.ok((await tables(db)).includes('half_done'));
  });

  t.test(`${kind}: instances starting together apply each migration once`, async (t) => {
    const db = await createTestDatabase(t, kind);
    const reports = await Promise.all([migrate(kind, db.url), migrate(kind, db.url), migrate(kind, db.url)]);
    const shipped = (await readMigrations(kind)).map((m) => m.name);
    t.same(reports.flatMap((r) => r.applied).sort(), shipped.sort(), 'each applied by exactly one runner');
    const rows = await query(db, 'SELECT migration_name FROM _prisma_migrations');
    t.equal(rows.length, shipped.length);
  });

  t.test(`${kind}: changed and unknown migrations are reported`, async (t) => {
    const db = await createTestDatabase(t, kind);
    const shipped = await readMigrations(kind);
    await migrate(kind, db.url, { migrations: [...shipped, extra('29990101000001_later', 'CREATE TABLE "later" ("id" TEXT);')] });
    const edited = shipped.map((m, i) => (i === 0 ? { ...m, checksum: 'f'.repeat(64) } : m));
    const report = await migrate(kind, db.url, { migrations: edited });
    t.same(report.modified, [shipped[0]!.name]);
    t.same(report.unknown, ['29990101000001_later']);
  });
}

t.test('a database that cannot be reached fails with a readable error', async (t) => {
  const kind: DatabaseKind = 'postgres';
  await t.rejects(migrate(kind, 'postgresql://postgres@127.0.0.1:1/none'), /ECONNREFUSED|connect/);
});
