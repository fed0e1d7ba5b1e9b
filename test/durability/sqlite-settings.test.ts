import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createLogger } from '../../src/observability/logger.ts';
import { openDatabase } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { gatehouseDeployment, sqlite3 } from '../helpers/gatehouse-process.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { freePort } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/** The SQLite settings README promises, on every connection Gatehouse opens, and two servers on one file. */

const asNumbers = (rows: unknown) => JSON.parse(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));

/** A migrated SQLite database in a fresh folder, opened as the server opens it. */
async function migratedDatabase(t: Test) {
  const dir = await tempDir(t);
  const file = join(dir, 'gatehouse.db');
  await migrate('sqlite', `file:${file}`);
  const db = await openDatabase({ databaseUrl: `file:${file}`, databaseKind: 'sqlite', logger: createLogger('silent') });
  t.teardown(() => db.close());
  return { file, db };
}

t.test('WAL, synchronous NORMAL, a 5 s busy timeout and foreign keys on every connection', async (t) => {
  const { file, db } = await migratedDatabase(t);
  const settings = async (run: (sql: string) => Promise<unknown>) => ({
    synchronous: asNumbers(await run('PRAGMA synchronous'))[0].synchronous,
    busyTimeout: asNumbers(await run('PRAGMA busy_timeout'))[0].timeout,
    foreignKeys: asNumbers(await run('PRAGMA foreign_keys'))[0].foreign_keys,
  });
  const expected = { synchronous: 1, busyTimeout: 5000, foreignKeys: 1 };
  t.same(await settings((sql) => db.prisma.$queryRawUnsafe(sql)), expected, 'on the first connection');
  t.same(await db.prisma.$transaction((tx) => settings((sql) => tx.$queryRawUnsafe(sql))), expected, 'inside a transaction');
  // @libsql/client gives a transaction its connection and opens a new one for what follows.
  t.same(await settings((sql) => db.prisma.$queryRawUnsafe(sql)), expected, 'on the connection opened after a transaction');
  t.equal(await sqlite3(file, 'PRAGMA journal_mode'), 'wal', 'WAL is recorded in the file, for every process');
});

t.test('two server processes on one SQLite file: concurrent writes on both, each sees the other\'s', async (t) => {
  const gh = await gatehouseDeployment(t, 'sqlite', { env: { IP_SIGNUP_LIMIT: '1000' } });
  const a = await gh.start();
  const b = await gh.start({ PORT: String(await freePort()) });
  const db = join(gh.dataDir, 'gatehouse.db');

  t.equal((await gh.cli(['resources', 'create', '--audience', 'https://api.example.com', '--scope', 'read'])).code, 0);
  const created = await gh.cli(['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', 'https://api.example.com', '--scope', 'read', '--json']);
  t.equal(created.code, 0, created.stderr);
  const { client_id, client_secret } = JSON.parse(created.stdout);
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString('base64')}`;

  const PER_SERVER = 25;
  const signups = [a, b].flatMap((server, s) =>
    Array.from({ length: PER_SERVER }, (_, i) =>
      fetch(`${server.url}/account/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `u${s}-${i}@example.com`, password: 'correct horse battery staple 9' }),
      }).then((r) => r.status),
    ),
  );
  const tokens = [a, b].flatMap((server) =>
    Array.from({ length: PER_SERVER }, () =>
      fetch(`${server.url}/token`, { method: 'POST', headers: { authorization: basic }, body: new URLSearchParams({ grant_type: 'client_credentials' }) }).then((r) => r.status),
    ),
  );
  const [signupStatuses, tokenStatuses] = await Promise.all([Promise.all(signups), Promise.all(tokens)]);
  t.same(signupStatuses.filter((s) => s !== 202), [], `all ${signupStatuses.length} signups accepted`);
  t.same(tokenStatuses.filter((s) => s !== 200), [], `all ${tokenStatuses.length} client-credentials requests answered`);
  t.equal(await sqlite3(db, 'SELECT count(*) FROM users'), String(2 * PER_SERVER), 'every signup is in the file');

  // A signup through A, its mailed link confirmed through B: B reads A's one-time token at once.
  const mail = await lastMailTo(gh.dataDir, 'u0-0@example.com');
  const token = new URL(mail.link!).searchParams.get('token')!;
  const verified = await fetch(`${b.url}/account/verify-email`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  t.equal(verified.status, 204, 'the other server confirms the email');
  t.equal(await sqlite3(db, "SELECT email_verified_at IS NOT NULL FROM users WHERE email = 'u0-0@example.com'"), '1');

  await a.kill9();
  await b.kill9();
  const again = await gh.start();
  t.equal(await sqlite3(db, 'SELECT count(*) FROM users'), String(2 * PER_SERVER), 'and all of it survives kill -9 of both');
  t.equal(await again.stop(), 0);
});

t.test('a transaction takes the write lock when it begins (BEGIN IMMEDIATE), so look-then-write never fails at once', async (t) => {
  const { file, db } = await migratedDatabase(t);
  const outcome = await db.prisma.$transaction(
    async (tx) => {
      await tx.$queryRawUnsafe('SELECT count(*) FROM users');
      // Another process writes while the transaction (which has only read) is open.
      return sqlite3(file, "INSERT INTO audit_events (id, at, type, detail) VALUES ('x', '2000-01-01T00:00:00.000Z', 'test', '{}')").then(
        () => 'written',
        (err: Error) => err.message,
      );
    },
    { timeout: 30_000 },
  );
  t.match(outcome, /locked|busy/i, 'the other writer waits for the transaction and gives up: the lock was taken at BEGIN');
});
