import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { cli } from '../helpers/cli.ts';
import { createTestDatabase, rawQuery, type TestDatabase } from '../helpers/databases.ts';
import { seedKeyring } from '../helpers/keys.ts';
import { CLI_JS, freePort, MAIN_JS, runProcess, startProcess, waitForStatus } from '../helpers/processes.ts';
import { signIn, startAuthorization } from '../helpers/relying-party.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * `gatehouse db backup <file>` as an operator runs it: in its own process beside a server that is
 * taking signups, CLI user creations and token requests. The backup is then restored the documented
 * way (the file copied to $DATA_DIR/gatehouse.db, same keys folder and secrets) and a server started
 * on it must hold everything acknowledged before the backup began, and let those users log in.
 */

const API = 'https://orders.example.com';
const CALLBACK = 'https://shop.example.com/callback';
const PASSWORD = 'tangerine-lighthouse-0451';

interface Ack {
  email: string;
  /** Writes of one sequential worker commit in order: a consistent snapshot holds a prefix of them. */
  worker: string;
}

/** Steady writes and reads until stop(); records every acknowledged write in order. */
function traffic(base: string, env: Record<string, string>, dir: string, jobAuth: string) {
  const acked: Ack[] = [];
  const failures: string[] = [];
  let tokens = 0;
  let running = true;
  const signups = async (worker: string) => {
    for (let i = 0; running; i++) {
      const email = `${worker}-${i}@example.com`;
      const res = await fetch(`${base}/account/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      if (res.status === 202) acked.push({ email, worker });
      else failures.push(`signup ${email}: HTTP ${res.status}`);
    }
  };
  const cliUsers = async (worker: string) => {
    for (let i = 0; running; i++) {
      const email = `${worker}-${i}@example.com`;
      const r = await runProcess(CLI_JS, ['users', 'create', email, '--password-stdin', '--verified'], env, dir, `${PASSWORD}\n`);
      if (r.code === 0) acked.push({ email, worker });
      else failures.push(`users create ${email}: exit ${r.code} ${r.stderr.trim()}`);
    }
  };
  const clientCredentials = async () => {
    while (running) {
      const res = await postForm(`${base}/token`, { grant_type: 'client_credentials' }, jobAuth);
      if (res.status === 200) tokens += 1;
      else failures.push(`token: HTTP ${res.status}`);
    }
  };
  const workers = [signups('signup-a'), signups('signup-b'), cliUsers('cli'), clientCredentials(), clientCredentials()];
  return {
    acked,
    failures,
    tokens: () => tokens,
    /** Resolves once `predicate` holds (polled; a deadlock guard, not a speed limit). */
    async until(predicate: () => boolean, what: string) {
      const deadline = Date.now() + 120_000;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`traffic never reached: ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function sqliteValue(db: TestDatabase, sql: string): Promise<unknown[]> {
  return (await rawQuery(db, sql)).map((row) => Object.values(row)[0]);
}

/** Opens a read transaction on the live database and keeps it until release(). */
async function pinSnapshot(t: Test, url: string) {
  const client = createClient({ url });
  const tx = await client.transaction('read');
  await tx.execute('SELECT count(*) FROM users');
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    tx.close();
    client.close();
  };
  t.teardown(release);
  return { release };
}

/** Signs in through the authorization-code flow (openid-client); returns the email in the ID token. */
async function logIn(issuer: string, client: { client_id: string; client_secret: string }, email: string) {
  const config = await oidc.discovery(new URL(issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const start = await startAuthorization(config, { redirect_uri: CALLBACK });
  const step = await signIn(new UserAgent(), start.url, CALLBACK, email, PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(step.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state });
  return tokens.claims()?.email;
}

t.test('a backup taken under traffic restores into a new data folder: every acknowledged write, users log in', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  await seedKeyring(keys);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = {
    DATA_DIR: join(dir, 'data'),
    KEYS_DIR: keys,
    ISSUER: issuer,
    PORT: String(port),
    SECRETS: 'backup-test-cookie-secret-long-enough-0000',
    // Signed-up users may log in without opening their mail, so they can be checked after the restore.
    REQUIRE_EMAIL_VERIFICATION: 'false',
    // Every signup comes from 127.0.0.1: lift the per-IP signup limit so the writes keep flowing.
    IP_SIGNUP_LIMIT: '1000000',
    LOG_LEVEL: 'warn',
  };
  const run = async (argv: string[], input?: string) => {
    const r = await runProcess(CLI_JS, [...argv, '--json'], env, dir, input);
    if (r.code !== 0) throw new Error(`gatehouse ${argv.join(' ')}: exit ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  await run(['migrate']);
  await run(['resources', 'create', '--audience', API, '--scope', 'orders:read']);
  const job = await run(['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API]);
  const shop = await run(['clients', 'create', '--name', 'shop', '--redirect-uri', CALLBACK, '--scope', 'openid email']);
  await run(['users', 'create', 'alice@example.com', '--password-stdin', '--verified'], `${PASSWORD}\n`);

  const server = startProcess(t, MAIN_JS, [], env, dir);
  await waitForStatus(`${issuer}/readyz`, 200);
  const earlyToken = (await postForm(`${issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, job.client_secret))).json.access_token as string;
  t.ok(earlyToken, 'a token from the original server');

  // A reader holding one snapshot from before the traffic keeps every later write in the WAL (a
  // checkpoint cannot copy past a reader's snapshot), so a backup that copied only the main file,
  // or lost the WAL, would miss them; VACUUM INTO reads through the WAL.
  const pinned = await pinSnapshot(t, `file:${join(dir, 'data', 'gatehouse.db')}`);
  const load = traffic(issuer, env, dir, basic(job.client_id, job.client_secret));
  await load.until(() => load.acked.filter((a) => a.worker === 'cli').length >= 1 && load.acked.length >= 8, 'writes from every kind of writer');

  const backupFile = join(dir, 'backups', 'gatehouse-backup.db');
  await mkdir(join(dir, 'backups'), { mode: 0o700 });
  const ackedBefore = [...load.acked];
  const startedAt = Date.now();
  const backup = await runProcess(CLI_JS, ['db', 'backup', backupFile, '--json'], env, dir);
  const finishedAt = Date.now();
  const ackedDuring = load.acked.length - ackedBefore.length;
  // Let the traffic go on past the backup, then stop it.
  await load.until(() => load.acked.length >= ackedBefore.length + ackedDuring + 4, 'writes after the backup');
  await load.stop();
  await pinned.release();
  t.comment(`writes acknowledged: ${ackedBefore.length} before the backup, ${ackedDuring} while it ran, ${load.acked.length} in all; ${load.tokens()} tokens`);

  t.equal(backup.code, 0, backup.stderr);
  const report = JSON.parse(backup.stdout);
  const info = await stat(backupFile);
  t.same(Object.keys(report).sort(), ['at', 'bytes', 'database', 'file']);
  t.equal(report.file, backupFile);
  t.equal(report.database, 'sqlite');
  t.equal(report.bytes, info.size, 'bytes is the size of the file written');
  t.ok(Date.parse(report.at) >= startedAt - 1000 && Date.parse(report.at) <= finishedAt + 1000, 'at is the time of the snapshot');
  t.equal(info.mode & 0o777, 0o600, 'the backup holds password hashes: owner-only');
  t.same(await readdir(join(dir, 'backups')), ['gatehouse-backup.db'], 'no temporary file left beside it');
  t.same(load.failures, [], 'the server answered every request while the backup ran');
  t.equal((await fetch(`${issuer}/readyz`)).status, 200, 'the original server is still ready');

  // The documented restore: stop the server, put the backup in place in a new data folder (mode
  // 0600), keep the keys folder and the secrets, start again at the same address.
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  const restoredData = join(dir, 'restored-data');
  await mkdir(restoredData, { mode: 0o700 });
  await copyFile(backupFile, join(restoredData, 'gatehouse.db'));
  await chmod(join(restoredData, 'gatehouse.db'), 0o600);
  const restored: TestDatabase = { kind: 'sqlite', url: `file:${join(restoredData, 'gatehouse.db')}` };

  t.same(await sqliteValue(restored, 'PRAGMA integrity_check'), ['ok'], 'integrity_check: ok');
  const emails = new Set((await sqliteValue(restored, 'SELECT email FROM users')) as string[]);
  const missing = ackedBefore.filter((a) => !emails.has(a.email)).map((a) => a.email);
  t.same(missing, [], `all ${ackedBefore.length} writes acknowledged before the backup started are in it`);
  t.ok(emails.has('alice@example.com'));
  for (const worker of ['signup-a', 'signup-b', 'cli']) {
    const order = load.acked.filter((a) => a.worker === worker).map((a) => emails.has(a.email));
    const kept = order.indexOf(false) === -1 ? order.length : order.indexOf(false);
    t.ok(order.slice(kept).every((present) => !present), `${worker}: the backup holds a prefix of its writes (${kept} of ${order.length}), no gap`);
  }
  const signedUp = (await sqliteValue(restored, "SELECT email FROM audit_events WHERE type = 'signup.requested'")) as string[];
  t.ok(ackedBefore.filter((a) => a.worker.startsWith('signup')).every((a) => signedUp.includes(a.email)), 'and their audit events');

  const env2 = { ...env, DATA_DIR: restoredData };
  const second = startProcess(t, MAIN_JS, [], env2, dir);
  await waitForStatus(`${issuer}/readyz`, 200);

  t.equal(await logIn(issuer, shop, 'alice@example.com'), 'alice@example.com', 'a user created before the backup logs in');
  const firstSignup = ackedBefore.find((a) => a.worker === 'signup-a')!.email;
  t.equal(await logIn(issuer, shop, firstSignup), firstSignup, 'so does one who signed up under traffic before it');
  const cc = await postForm(`${issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, job.client_secret));
  t.equal(cc.status, 200, 'clients and APIs are restored');
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const verified = await jose.jwtVerify(earlyToken, jwks, { issuer, audience: API, typ: 'at+jwt' });
  t.equal(verified.payload.client_id, job.client_id, 'with the same keys folder, tokens issued before the backup still verify');
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0);
});

/** A folder this process cannot create files in (root ignores permission bits: make it immutable). */
async function unwritableFolder(t: Test, parent: string): Promise<string> {
  const folder = join(parent, 'locked');
  await mkdir(folder);
  await chmod(folder, 0o500);
  if (process.getuid?.() === 0) {
    await promisify(execFile)('chattr', ['+i', folder]);
    t.teardown(() => promisify(execFile)('chattr', ['-i', folder]));
  }
  await t.rejects(writeFile(join(folder, 'probe'), ''), 'set-up: the folder refuses new files');
  return folder;
}

t.test('bad input: clear errors, nothing written, the database untouched', async (t) => {
  const dir = await tempDir(t);
  const vars = { DATA_DIR: join(dir, 'data'), KEYS_DIR: join(dir, 'keys'), LOG_LEVEL: 'silent' };
  const live: TestDatabase = { kind: 'sqlite', url: `file:${join(dir, 'data', 'gatehouse.db')}` };

  const none = await cli(['db', 'backup', join(dir, 'early.db'), '--json'], vars, dir);
  t.equal(none.code, 2, 'no database yet: a runtime error');
  t.match(none.json().error_description, /no SQLite database at .*gatehouse\.db/);
  t.same(await readdir(dir), [], 'and no empty database created');

  t.equal((await cli(['migrate'], vars, dir)).code, 0);
  t.equal((await cli(['users', 'create', 'bob@example.com', '--password-stdin', '--verified'], vars, dir, PASSWORD)).code, 0);

  const missing = await cli(['db', 'backup', '--json'], vars, dir);
  t.equal(missing.code, 1, 'missing file argument: a usage error');
  t.same(missing.json(), { error: 'usage_error', error_description: 'missing argument <file>; see gatehouse db backup --help' });
  t.match(missing.stderr, /^gatehouse: missing argument <file>; see gatehouse db backup --help$/m);
  t.equal((await cli(['db', 'backup', 'a.db', 'b.db'], vars, dir)).code, 1, 'two files: a usage error');

  const existing = join(dir, 'existing.db');
  await writeFile(existing, 'an older backup');
  const taken = await cli(['db', 'backup', 'existing.db', '--json'], vars, dir);
  t.equal(taken.code, 1, 'target exists: a usage error');
  t.match(taken.json().error_description, /existing\.db already exists; choose a new file or pass --force/);
  t.equal(await readFile(existing, 'utf8'), 'an older backup', 'the existing file is untouched');

  const forced = await cli(['db', 'backup', 'existing.db', '--force', '--json'], vars, dir);
  t.equal(forced.code, 0, forced.stderr);
  t.equal(forced.json().file, existing, 'relative names resolve against the working folder');
  const replaced: TestDatabase = { kind: 'sqlite', url: `file:${existing}` };
  t.same(await sqliteValue(replaced, 'SELECT email FROM users'), ['bob@example.com'], '--force replaces it with the backup');
  t.equal((await stat(existing)).mode & 0o777, 0o600);

  for (const target of [join(dir, 'data', 'gatehouse.db'), join(dir, 'data', 'gatehouse.db-wal')]) {
    const self = await cli(['db', 'backup', target, '--force', '--json'], vars, dir);
    t.equal(self.code, 1, `${target}: refused even with --force`);
    t.match(self.json().error_description, /is the live database/);
  }
  const folder = await cli(['db', 'backup', join(dir, 'data'), '--json'], vars, dir);
  t.equal(folder.code, 1);
  t.match(folder.json().error_description, /is a folder; name the backup file/);

  const absent = await cli(['db', 'backup', join(dir, 'no-such-folder', 'b.db'), '--json'], vars, dir);
  t.equal(absent.code, 2, 'a folder that does not exist: a runtime error');
  t.match(absent.json().error_description, /cannot write a file in .*no-such-folder: no such folder/);

  const locked = await unwritableFolder(t, dir);
  const refused = await cli(['db', 'backup', join(locked, 'b.db'), '--json'], vars, dir);
  t.equal(refused.code, 2, 'an unwritable folder: a runtime error');
  t.match(refused.json().error_description, new RegExp(`cannot write a file in ${locked}: (permission denied|operation not permitted)`));
  t.same(await readdir(locked), [], 'nothing left in it');

  t.same(await readdir(dir), ['data', 'existing.db', 'locked'], 'no partial or temporary file anywhere');
  t.same(await sqliteValue(live, 'PRAGMA integrity_check'), ['ok'], 'the live database is intact');
  t.same(await sqliteValue(live, "SELECT count(*) FROM audit_events WHERE type = 'database.backed_up'"), [1], 'the one successful backup is an audit event');
});

t.test('on PostgreSQL the command says to use pg_dump', async (t) => {
  const dir = await tempDir(t);
  const db = await createTestDatabase(t, 'postgres');
  const r = await cli(['db', 'backup', join(dir, 'pg.db'), '--json'], { DATABASE_URL: db.url, DATA_DIR: dir, LOG_LEVEL: 'silent' }, dir);
  t.equal(r.code, 1, 'the wrong tool for this database: a usage error');
  t.match(r.json().error_description, /back up PostgreSQL with pg_dump/);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.same(await readdir(dir), [], 'no file written');
});
