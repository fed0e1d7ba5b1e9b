import t from 'tap';
import { cli } from '../helpers/cli.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, DATABASE_KINDS, rawQuery } from '../helpers/databases.ts';
import { CLI_JS, runProcess } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { readMigrations } from '../../src/persistence/migrate.ts';

t.test('--help lists the commands and exits 0', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['--help'], {}, dir);
  t.equal(r.code, 0);
  t.match(r.stdout, /Usage: gatehouse <noun> <verb>/);
  t.match(r.stdout, /migrate/);
  t.match(r.stdout, /config check/);
  const j = await cli(['--help', '--json'], {}, dir);
  t.ok(j.json().commands.some((c: { command: string }) => c.command === 'config check'));
  const one = await cli(['migrate', '--help'], { PORT: 'broken' }, dir);
  t.equal(one.code, 0, 'help works even with a broken environment');
  t.match(one.stdout, /Usage: gatehouse migrate/);
});

t.test('usage errors exit 1 with one line on stderr (and one JSON document with --json)', async (t) => {
  const dir = await tempDir(t);
  const unknown = await cli(['frobnicate', 'now'], {}, dir);
  t.equal(unknown.code, 1);
  t.equal(unknown.stderr.trim().split('\n').length, 1);
  t.match(unknown.stderr, /unknown command "frobnicate now"/);
  const badOption = await cli(['config', 'check', '--frob', '--json'], {}, dir);
  t.equal(badOption.code, 1);
  t.same(Object.keys(badOption.json()), ['error', 'error_description']);
  t.equal(badOption.json().error, 'usage_error');
  const nothing = await cli([], {}, dir);
  t.equal(nothing.code, 1, 'no command is a usage error');
});

t.test('config check prints the effective configuration with secrets masked', async (t) => {
  const dir = await tempDir(t);
  const secret = 'cli-test-secret-long-enough-to-be-accepted-1';
  const r = await cli(['config', 'check', '--json'], { SECRETS: secret, PORT: '4000', DATABASE_URL: 'postgres://gh:pw123@db/gh' }, dir);
  t.equal(r.code, 0);
  const shown = r.json();
  t.equal(shown.PORT, 4000);
  t.equal(shown.ISSUER, 'http://localhost:4000');
  t.equal(shown.DATABASE_URL, 'postgres://gh:***@db/gh');
  t.notMatch(r.stdout, secret);
  t.notMatch(r.stdout, /pw123/);
  const text = await cli(['config', 'check'], {}, dir);
  t.match(text.stdout, /^NODE_ENV\s+development$/m);
  t.match(text.stdout, /^SECRETS\s+\(unset: generated once into .*secrets\.json\)$/m);
});

t.test('configuration errors are runtime errors: exit 2, every variable named', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['config', 'check', '--json'], { PORT: 'abc', ISSUER: 'ftp://x' }, dir);
  t.equal(r.code, 2);
  t.equal(r.json().error, 'invalid_configuration');
  t.match(r.stderr, /PORT: .*ISSUER: /);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
});

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: migrate applies, then reports up to date`, async (t) => {
    const dir = await tempDir(t);
    const db = await createTestDatabase(t, kind);
    const env = { DATABASE_URL: db.url };
    const first = await cli(['migrate', '--json'], env, dir);
    t.equal(first.code, 0, first.stderr);
    t.equal(first.json().database, kind);
    t.ok(first.json().applied.length >= 1);
    const second = await cli(['migrate'], env, dir);
    t.equal(second.code, 0);
    t.equal(second.stdout.trim(), 'database is up to date');
  });
}

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: only migrate changes the schema; other commands refuse an unmigrated database`, async (t) => {
    const dir = await tempDir(t);
    const db = kind === 'sqlite' ? { kind, url: `file:${join(dir, 'data', 'gatehouse.db')}` } : await createTestDatabase(t, kind);
    const env = { DATABASE_URL: db.url, LOG_LEVEL: 'silent' };
    const refused = await cli(['users', 'list', '--json'], env, dir);
    t.equal(refused.code, 2, 'a runtime error');
    t.equal(refused.json().error, 'schema_outdated');
    const shipped = (await readMigrations(kind)).length;
    t.match(refused.json().error_description, new RegExp(`${shipped} migrations pending.*run npx gatehouse migrate`));
    t.equal(refused.stderr.trim().split('\n').length, 1, 'one line on stderr');
    if (kind === 'sqlite') {
      t.notOk(existsSync(join(dir, 'data')), 'no database file (nor its folder) is created by the refusal');
    } else {
      t.same(await rawQuery(db, "SELECT to_regclass('_prisma_migrations') IS NULL AS absent"), [{ absent: true }], 'no table is created by the refusal');
    }
    t.equal((await cli(['migrate'], env, dir)).code, 0);
    const listed = await cli(['users', 'list', '--json'], env, dir);
    t.equal(listed.code, 0, listed.stderr);
    t.same(listed.json(), []);
  });
}

t.test('migrate against an unreachable database exits 2 without leaking the URL', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['migrate', '--json'], { DATABASE_URL: 'postgresql://gh:pw123@127.0.0.1:1/gh' }, dir);
  t.equal(r.code, 2);
  t.equal(r.json().error, 'server_error');
  t.notMatch(r.stdout + r.stderr, /pw123/);
});

t.test('the installed bin runs as a program with the documented exit codes', async (t) => {
  const dir = await tempDir(t);
  const help = await runProcess(CLI_JS, ['--help'], {}, dir);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: gatehouse/);
  const bad = await runProcess(CLI_JS, ['nope'], {}, dir);
  t.equal(bad.code, 1);
  const check = await runProcess(CLI_JS, ['config', 'check', '--json'], { PORT: '5555' }, dir);
  t.equal(check.code, 0);
  t.equal(JSON.parse(check.stdout).PORT, 5555);
});
