import t, { type Test } from 'tap';
import { createLogger } from '../../src/observability/logger.ts';
import { openDatabase } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { DIRECT_EXECUTE, DIRECT_SELECT, directTransaction, execute, select } from '../../src/persistence/raw-sql.ts';
import { isUniqueViolation } from '../../src/persistence/unique-violation.ts';
import { DATABASE_KINDS, createTestDatabase } from '../helpers/databases.ts';

/**
 * Hand-written SQL (src/persistence/raw-sql.ts) reads the same values as the model API on both
 * databases, whichever way it runs: outside a unit of work it skips Prisma (SQLite: the reading
 * connection; PostgreSQL: the pool); inside one it goes through the transaction
 * and sees its own writes.
 */
const CREATED = new Date('2031-02-03T04:05:06.789Z');
const VERIFIED = new Date('2031-02-04T00:00:00.001Z');
const COLUMNS = 'id, email, password_hash, status, email_verified_at, banned_at, created_at';

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: a raw SELECT gives what the model API gives, inside and outside a unit of work`, async (t) => {
    const target = await createTestDatabase(t, kind);
    await migrate(kind, target.url);
    const db = await openDatabase({ databaseUrl: target.url, databaseKind: kind, logger: createLogger('silent') });
    t.teardown(() => db.close());
    await db.prisma.user.create({
      data: { id: 'u1', email: 'ann@example.com', passwordHash: null, status: 'active', emailVerifiedAt: VERIFIED, createdAt: CREATED, updatedAt: CREATED },
    });

    t.type((db.prisma as unknown as Record<symbol, unknown>)[DIRECT_SELECT], 'function', 'the direct read is offered outside a unit of work');

    const expected = { id: 'u1', email: 'ann@example.com', password_hash: null, status: 'active', email_verified_at: VERIFIED, banned_at: null, created_at: CREATED };
    const outside = await select<Record<string, unknown>>(db.prisma, `SELECT ${COLUMNS} FROM users WHERE id = $1`, 'u1');
    t.same(outside, [expected], 'outside: dates as Date, NULL as null');
    t.ok((outside[0]!.created_at as Date).getTime() === CREATED.getTime(), 'to the millisecond');
    t.same(await select(db.prisma, `SELECT ${COLUMNS} FROM users WHERE created_at > $1 AND created_at < $2`, new Date(CREATED.getTime() - 1), new Date(CREATED.getTime() + 1)), [expected], 'a Date parameter compares with the stored dates');
    t.same(await select(db.prisma, `SELECT ${COLUMNS} FROM users WHERE created_at > $1`, CREATED), [], 'strictly');
    const model = await db.prisma.user.findUnique({ where: { id: 'u1' } });
    t.same(model!.createdAt, outside[0]!.created_at, 'the same instant as the model API reads');

    await db.atomically(async () => {
      t.equal((db.prisma as unknown as Record<symbol, unknown>)[DIRECT_SELECT], undefined, 'no direct read inside a unit of work');
      t.equal(await execute(db.prisma, 'UPDATE users SET status = $1 WHERE id = $2', 'banned', 'u1'), 1, 'one row changed');
      const [inside] = await select<{ status: string }>(db.prisma, 'SELECT status FROM users WHERE id = $1', 'u1');
      t.equal(inside!.status, 'banned', "inside, the transaction's own uncommitted write is seen");
    });
    const [after] = await select<{ status: string }>(db.prisma, 'SELECT status FROM users WHERE id = $1', 'u1');
    t.equal(after!.status, 'banned', 'and after the commit, outside');
    t.same(await select(db.prisma, 'SELECT id FROM users WHERE id = $1', 'nobody'), [], 'no row: an empty list');
  });
}

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: a single write outside a unit of work skips Prisma: the same rows, the same counts, a duplicate is a unique violation`, async (t) => {
    const target = await createTestDatabase(t, kind);
    await migrate(kind, target.url);
    const db = await openDatabase({ databaseUrl: target.url, databaseKind: kind, logger: createLogger('silent') });
    t.teardown(() => db.close());
    const direct = () => (db.prisma as unknown as Record<symbol, unknown>)[DIRECT_EXECUTE];
    t.type(direct(), 'function', 'offered outside a unit of work');
    await db.atomically(async () => t.equal(direct(), undefined, 'not inside one'));

    const insert = 'INSERT INTO users (id, email, password_hash, status, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)';
    t.equal(await execute(db.prisma, insert, 'u1', 'ann@example.com', null, 'active', VERIFIED, CREATED), 1, 'one row inserted');
    const model = await db.prisma.user.findUnique({ where: { id: 'u1' } });
    t.same(
      model && { email: model.email, passwordHash: model.passwordHash, emailVerifiedAt: model.emailVerifiedAt, createdAt: model.createdAt },
      { email: 'ann@example.com', passwordHash: null, emailVerifiedAt: VERIFIED, createdAt: CREATED },
      'the model API reads what was written: NULL, and instants to the millisecond',
    );
    t.equal(await execute(db.prisma, 'UPDATE users SET status = $1 WHERE id = $2 AND status = $3', 'banned', 'u1', 'active'), 1, 'a conditional update: one row');
    t.equal(await execute(db.prisma, 'UPDATE users SET status = $1 WHERE id = $2 AND status = $3', 'banned', 'u1', 'active'), 0, 'and again: none (its count decides a race)');
    t.equal(await execute(db.prisma, 'UPDATE users SET updated_at = $1 WHERE created_at = $2', VERIFIED, CREATED), 1, 'a Date parameter matches the stored instant');

    const duplicate = await execute(db.prisma, insert, 'u1', 'other@example.com', null, 'active', null, CREATED).catch((e: unknown) => e);
    t.ok(isUniqueViolation(duplicate), 'a duplicate key is a unique violation the repositories recognise, not a 503');
    t.not((duplicate as { code?: string }).code, 'temporarily_unavailable');

    // Two writers racing on one row through the direct path: exactly one wins.
    const race = await Promise.all([1, 2].map(() => execute(db.prisma, 'UPDATE users SET status = $1 WHERE id = $2 AND status = $3', 'active', 'u1', 'banned')));
    t.same(race.sort(), [0, 1], 'one winner');
    t.equal(await execute(db.prisma, 'DELETE FROM users WHERE id = $1', 'u1'), 1, 'a delete counts its row');
    await t.rejects(execute(db.prisma, 'DELETE FROM no_such_table WHERE id = $1', 'x'), { code: 'temporarily_unavailable' }, 'a failing write is a 503');
  });
}

t.test('sqlite: a direct single write waits for a Prisma transaction holding the writing connection, and is not part of it', async (t) => {
  const target = await createTestDatabase(t, 'sqlite');
  await migrate('sqlite', target.url);
  const db = await openDatabase({ databaseUrl: target.url, databaseKind: 'sqlite', logger: createLogger('silent') });
  t.teardown(() => db.close());
  const insert = 'INSERT INTO users (id, email, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)';
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let opened!: () => void;
  const isOpen = new Promise<void>((resolve) => (opened = resolve));
  const order: string[] = [];
  // A unit of work that writes, then waits, then fails: everything in it rolls back.
  const unit = db
    .atomically(async () => {
      await execute(db.prisma, insert, 'inside', 'inside@example.com', 'active', CREATED);
      opened();
      await held;
      order.push('unit ends');
      throw new Error('rolled back');
    })
    .catch((e: Error) => e.message);
  await isOpen;
  const outside = execute(db.prisma, insert, 'outside', 'outside@example.com', 'active', CREATED).then((n) => {
    order.push('direct write done');
    return n;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(order, [], 'the direct write waits while the transaction holds the connection');
  release();
  t.equal(await unit, 'rolled back');
  t.equal(await outside, 1);
  t.same(order, ['unit ends', 'direct write done']);
  t.same((await db.prisma.user.findMany({ orderBy: { id: 'asc' } })).map((u) => u.id), ['outside'], "the transaction's write rolled back, the direct one committed on its own");
});

t.test('sqlite: a direct read runs on the writing connection while nothing holds it, on the reading one beside a transaction', async (t) => {
  const target = await createTestDatabase(t, 'sqlite');
  await migrate('sqlite', target.url);
  const db = await openDatabase({ databaseUrl: target.url, databaseKind: 'sqlite', logger: createLogger('silent') });
  t.teardown(() => db.close());
  // The reading connection refuses writes (query_only on), the writing one does not: the setting
  // names the connection a read ran on.
  const connection = async () => ((await select<{ q: number }>(db.prisma, 'SELECT query_only AS q FROM pragma_query_only'))[0]!.q === 1 ? 'reading' : 'writing');
  const insert = 'INSERT INTO users (id, email, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)';
  await execute(db.prisma, insert, 'first', 'first@example.com', 'active', CREATED);
  t.equal(await connection(), 'writing', 'after a commit, with nothing holding the writing connection: there (its page cache is current)');

  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let opened!: () => void;
  const isOpen = new Promise<void>((resolve) => (opened = resolve));
  const unit = db.atomically(async () => {
    await execute(db.prisma, insert, 'inside', 'inside@example.com', 'active', CREATED);
    opened();
    await held;
  });
  await isOpen;
  t.equal(await connection(), 'reading', 'while a transaction holds the writing connection: the reading one, at once');
  t.same((await select<{ id: string }>(db.prisma, 'SELECT id FROM users ORDER BY id')).map((r) => r.id), ['first'], 'without the open transaction’s write');
  const queued = execute(db.prisma, insert, 'queued', 'queued@example.com', 'active', CREATED);
  t.equal(await connection(), 'reading', 'with a direct write waiting behind the transaction too: the reading one');
  release();
  await unit;
  await queued;
  t.equal(await connection(), 'writing', 'once everything is done: the writing one again');
  t.same((await select<{ id: string }>(db.prisma, 'SELECT id FROM users ORDER BY id')).map((r) => r.id), ['first', 'inside', 'queued'], 'and it sees every commit');
});

t.test('postgres: timestamps are UTC whatever the time zone of the process', async (t) => {
  // A child process with TZ set: the direct read must not take timestamp(3) values for local time.
  const { spawnSync } = await import('node:child_process');
  const target = await createTestDatabase(t, 'postgres');
  await migrate('postgres', target.url);
  const script = `
    const { openDatabase } = await import(${JSON.stringify(new URL('../../src/persistence/database.ts', import.meta.url).href)});
    const { createLogger } = await import(${JSON.stringify(new URL('../../src/observability/logger.ts', import.meta.url).href)});
    const { select } = await import(${JSON.stringify(new URL('../../src/persistence/raw-sql.ts', import.meta.url).href)});
    const db = await openDatabase({ databaseUrl: process.env.URL, databaseKind: 'postgres', logger: createLogger('silent') });
    const at = new Date('2031-02-03T04:05:06.789Z');
    await db.prisma.user.create({ data: { id: 'u1', email: 'tz@example.com', status: 'active', createdAt: at, updatedAt: at } });
    const [row] = await select(db.prisma, 'SELECT created_at FROM users WHERE created_at = $1', at);
    const model = await db.prisma.user.findUnique({ where: { id: 'u1' } });
    console.log(JSON.stringify({ raw: row?.created_at, model: model.createdAt }));
    await db.close();`;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TZ: 'Pacific/Kiritimati', URL: target.url }, encoding: 'utf8' });
  t.equal(out.status, 0, out.stderr);
  t.same(JSON.parse(out.stdout.trim().split('\n').pop()!), { raw: '2031-02-03T04:05:06.789Z', model: '2031-02-03T04:05:06.789Z' }, 'the same instant in, out and through the model API (UTC+14 here)');
});

t.test('sqlite: with tracing on, every read goes through Prisma (so each query has its span)', async (t) => {
  const target = await createTestDatabase(t, 'sqlite');
  await migrate('sqlite', target.url);
  const names: string[] = [];
  const trace = (<T>(name: string, _options: unknown, work: () => Promise<T>) => (names.push(name), work())) as never;
  const db = await openDatabase({ databaseUrl: target.url, databaseKind: 'sqlite', logger: createLogger('silent'), trace });
  t.teardown(() => db.close());
  t.equal((db.prisma as unknown as Record<symbol, unknown>)[DIRECT_SELECT], undefined);
  t.same(await select(db.prisma, 'SELECT id FROM users WHERE id = $1', 'u1'), []);
  t.same(names, ['db SELECT users'], 'the read has its span');
});

t.test('sqlite: a failing direct read is a 503 (unavailable), not a driver error', async (t) => {
  const target = await createTestDatabase(t, 'sqlite');
  await migrate('sqlite', target.url);
  const db = await openDatabase({ databaseUrl: target.url, databaseKind: 'sqlite', logger: createLogger('silent') });
  t.teardown(() => db.close());
  await t.rejects(select(db.prisma, 'SELECT id FROM no_such_table WHERE id = $1', 'x'), { code: 'temporarily_unavailable' });
});

/**
 * What a direct transaction must do on either database: offered outside a unit of work only,
 * commit as one, roll back as one when the work throws, and report a duplicate key as a unique
 * violation. Returns the transaction and a reader of `resources.scopes` for what each test adds.
 */
async function directTransactionBasics(t: Test, db: Awaited<ReturnType<typeof openDatabase>>) {
  const direct = directTransaction(db.prisma)!;
  t.type(direct, 'function', 'offered outside a unit of work');
  await db.atomically(async () => t.equal(directTransaction(db.prisma), undefined, 'not inside one'));
  const at = new Date('2031-02-03T04:05:06.789Z');
  const insert = 'INSERT INTO resources (audience, scopes, created_at) VALUES ($1, $2, $3)';
  const scopes = async (audience: string) => (await select<{ scopes: string }>(db.prisma, 'SELECT scopes FROM resources WHERE audience = $1', audience))[0]?.scopes;

  await direct(async (tx) => {
    t.equal(await execute(tx, insert, 'https://a.example', 'read', at), 1);
    t.same(await select(tx, 'SELECT audience, created_at FROM resources WHERE audience = $1', 'https://a.example'), [{ audience: 'https://a.example', created_at: at }], 'the transaction reads its own write');
  });
  t.equal(await scopes('https://a.example'), 'read', 'committed');
  t.same((await db.prisma.resource.findUnique({ where: { audience: 'https://a.example' } }))?.createdAt, at, 'as the model API reads it');

  const boom = new Error('the work failed');
  await t.rejects(
    direct(async (tx) => {
      await execute(tx, insert, 'https://b.example', 'read', at);
      throw boom;
    }),
    boom,
  );
  t.equal(await scopes('https://b.example'), undefined, 'rolled back: nothing of it written');
  const duplicate = await direct(async (tx) => execute(tx, insert, 'https://a.example', 'again', at)).catch((e: unknown) => e);
  t.ok(isUniqueViolation(duplicate), 'a refused INSERT is recognisable as a unique violation (the refresh claim relies on it)');

  return { direct, insert, at, scopes };
}

t.test('sqlite: a direct transaction commits or rolls back as one, and takes turns with Prisma on the writing connection', async (t) => {
  const target = await createTestDatabase(t, 'sqlite');
  await migrate('sqlite', target.url);
  const db = await openDatabase({ databaseUrl: target.url, databaseKind: 'sqlite', logger: createLogger('silent') });
  t.teardown(() => db.close());
  const { direct, scopes } = await directTransactionBasics(t, db);

  // A unit of work through Prisma holds the writing connection; a direct transaction started meanwhile
  // waits for its COMMIT instead of writing into it, and then sees what it wrote.
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const order: string[] = [];
  const unit = db.atomically(async () => {
    await db.prisma.resource.update({ where: { audience: 'https://a.example' }, data: { scopes: 'read write' } });
    entered();
    await gate;
    order.push('prisma commits');
  });
  await inside;
  const second = direct(async (tx) => {
    order.push('direct begins');
    const [row] = await select<{ scopes: string }>(tx, 'SELECT scopes FROM resources WHERE audience = $1', 'https://a.example');
    await execute(tx, 'UPDATE resources SET scopes = $1 WHERE audience = $2', `${row!.scopes} admin`, 'https://a.example');
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(order, [], 'the direct transaction has not begun while the other is open');
  release();
  await Promise.all([unit, second]);
  t.same(order, ['prisma commits', 'direct begins'], 'it began after the commit');
  t.equal(await scopes('https://a.example'), 'read write admin', 'and built on what that transaction wrote: no lost update');
});

t.test('postgres: a direct transaction commits or rolls back as one; a connection lost under it fails it and is not reused', async (t) => {
  const target = await createTestDatabase(t, 'postgres');
  await migrate('postgres', target.url);
  const db = await openDatabase({ databaseUrl: target.url, databaseKind: 'postgres', logger: createLogger('silent'), poolSize: 2 });
  t.teardown(() => db.close());
  const { direct, insert, at, scopes } = await directTransactionBasics(t, db);
  t.equal(await scopes('https://a.example'), 'read', 'and the connection it ran on was rolled back and works');

  // An administrator ends the connection in the middle of the transaction.
  const lost = await direct(async (tx) => {
    await execute(tx, insert, 'https://c.example', 'read', at);
    const [row] = await select<{ pid: number }>(tx, 'SELECT pg_backend_pid() AS pid');
    const pid = row!.pid;
    await db.prisma.$queryRawUnsafe('SELECT pg_terminate_backend($1::int)', pid);
    await execute(tx, insert, 'https://d.example', 'read', at);
  }).catch((e: unknown) => e);
  t.ok(lost instanceof Error, 'the transaction fails');
  t.equal(await scopes('https://c.example'), undefined, 'nothing of it was written');
  // Both pool connections are used in turn: a dead one handed out again would fail here.
  for (let i = 0; i < 4; i++) {
    await direct(async (tx) => execute(tx, insert, `https://e${i}.example`, 'read', at));
    t.equal(await scopes(`https://e${i}.example`), 'read', `a later transaction commits (${i + 1})`);
  }
});
