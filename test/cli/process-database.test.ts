import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.ts';
import { createTestDatabase, DATABASE_KINDS, rawQuery, type TestDatabase } from '../helpers/databases.ts';
import { CLI_JS, runProcess } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

// A hang guard, not a speed requirement: this file runs many server or CLI processes, and on a loaded
// machine (two suites side by side on two cores) such files came within reach of the default 180 s.
t.setTimeout(600_000);

/** The installed bin in its own process against a real database: schema check and bans. */

const PASSWORD = 'correct horse battery staple 42!';

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: on a fresh database only migrate works; every other command says to run it and creates nothing`, async (t) => {
    const dir = await tempDir(t);
    const db: TestDatabase = kind === 'sqlite' ? { kind, url: `file:${join(dir, 'db', 'gatehouse.db')}` } : await createTestDatabase(t, kind);
    const env = { DATABASE_URL: db.url, DATA_DIR: join(dir, 'data'), KEYS_DIR: join(dir, 'keys'), LOG_LEVEL: 'silent' };

    const refused = await runProcess(CLI_JS, ['clients', 'list'], env, dir);
    t.equal(refused.code, 2, 'a runtime error');
    t.equal(refused.stdout, '');
    t.match(refused.stderr, /^gatehouse: the database schema is not up to date \(\d+ migrations? pending, from \S+\); run npx gatehouse migrate first/);
    t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
    const json = await runProcess(CLI_JS, ['clients', 'list', '--json'], env, dir);
    t.equal(json.code, 2);
    t.equal(JSON.parse(json.stdout).error, 'schema_outdated');

    for (const argv of [['resources', 'list'], ['users', 'show', 'a@example.com'], ['users', 'ban', 'a@example.com'], ['ips', 'list'], ['audit'], ['keys', 'list'], ['keys', 'rotate']]) {
      const r = await cli([...argv, '--json'], env, dir);
      t.equal(r.code, 2, `${argv.join(' ')}: exit 2`);
      t.equal(r.json().error, 'schema_outdated', `${argv.join(' ')}: refused before touching the database`);
    }
    if (kind === 'sqlite') t.notOk(existsSync(join(dir, 'db')), 'no database file (nor its folder) was created');
    else t.same(await rawQuery(db, "SELECT to_regclass('_prisma_migrations') IS NULL AS absent"), [{ absent: true }], 'no table was created');
    t.notOk(existsSync(join(dir, 'keys')), 'no keys were generated');

    const migrated = await runProcess(CLI_JS, ['migrate'], env, dir);
    t.equal(migrated.code, 0, migrated.stderr);
    t.match(migrated.stdout, /^applied \d+: /);
    const listed = await runProcess(CLI_JS, ['clients', 'list', '--json'], env, dir);
    t.equal(listed.code, 0, listed.stderr);
    t.same(JSON.parse(listed.stdout), []);
  });

  t.test(`${kind}: banning again without --reason keeps the stored reason; --reason replaces it`, async (t) => {
    const dir = await tempDir(t);
    const db = await createTestDatabase(t, kind);
    const env = { DATABASE_URL: db.url, DATA_DIR: join(dir, 'data'), KEYS_DIR: join(dir, 'keys'), LOG_LEVEL: 'silent' };
    const run = async (argv: string[], input?: string) => {
      const r = await runProcess(CLI_JS, [...argv, '--json'], env, dir, input);
      t.equal(r.code, 0, `gatehouse ${argv.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    await run(['migrate']);
    await run(['users', 'create', 'mallory@example.com', '--password-stdin', '--verified'], `${PASSWORD}\n`);

    await run(['users', 'ban', 'mallory@example.com', '--reason', 'credential stuffing']);
    const first = await run(['users', 'show', 'mallory@example.com']);
    t.equal(first.status, 'banned');
    t.equal(first.ban_reason, 'credential stuffing');

    await run(['users', 'ban', 'mallory@example.com']);
    const again = await run(['users', 'show', 'mallory@example.com']);
    t.equal(again.ban_reason, 'credential stuffing', 'a ban without --reason keeps the stored reason');
    t.equal(again.banned_at, first.banned_at, 'and the time of the first ban');

    await run(['users', 'ban', 'mallory@example.com', '--reason', 'confirmed abuse']);
    const replaced = await run(['users', 'show', 'mallory@example.com']);
    t.equal(replaced.ban_reason, 'confirmed abuse', '--reason replaces it');
    t.equal(replaced.banned_at, first.banned_at);

    const events = await run(['audit', '--type', 'user.banned', '--user', 'mallory@example.com']);
    t.same(events.map((e: { detail: { reason: string | null } }) => e.detail.reason), ['confirmed abuse', null, 'credential stuffing'], 'each ban audited with the reason given to it, newest first');

    await run(['users', 'unban', 'mallory@example.com']);
    const unbanned = await run(['users', 'show', 'mallory@example.com']);
    t.equal(unbanned.status, 'active');
    t.equal(unbanned.ban_reason, null, 'unbanning clears the reason');
    await run(['users', 'ban', 'mallory@example.com']);
    t.equal((await run(['users', 'show', 'mallory@example.com'])).ban_reason, null, 'a new ban after an unban starts without the old reason');

    // The same for addresses (in-process: the same code path, faster).
    const ips = async (argv: string[]) => {
      const r = await cli([...argv, '--json'], env, dir);
      t.equal(r.code, 0, `gatehouse ${argv.join(' ')}: ${r.stderr}`);
      return r.json();
    };
    await ips(['ips', 'ban', '198.51.100.0/24', '--reason', 'scanner']);
    await ips(['ips', 'ban', '198.51.100.0/24', '--for', '7d']);
    const [kept] = await ips(['ips', 'list']);
    t.match(kept, { ip: '198.51.100.0/24', reason: 'scanner' }, 'an IP ban renewed without --reason keeps its reason');
    t.ok(kept.expires_at, 'and takes the new duration');
    await ips(['ips', 'ban', '198.51.100.0/24', '--reason', 'still scanning']);
    t.match((await ips(['ips', 'list']))[0], { reason: 'still scanning', expires_at: null }, '--reason replaces it');
  });
}
