import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { createTestDatabase, DATABASE_KINDS, rawQuery } from '../helpers/databases.ts';
import { freePort, MAIN_JS, runProcess, startProcess, waitForStatus } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/** The server as an operator starts it: `node dist/main.js` (what `npm start` runs). */

const execute = rawQuery;

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: starts, becomes ready, drains on SIGTERM, restarts on the same data`, async (t) => {
    const dir = await tempDir(t);
    const db = kind === 'sqlite' ? { kind, url: `file:${join(dir, 'data', 'gatehouse.db')}` } : await createTestDatabase(t, kind);
    const port = await freePort();
    const env = { PORT: String(port), ...(kind === 'postgres' ? { DATABASE_URL: db.url } : {}) };

    const first = startProcess(t, MAIN_JS, [], env, dir);
    // The time is reported, not judged: it depends on the machine and its load.
    const ms = await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
    t.comment(`cold start: ready in ${Math.round(ms)} ms`);
    t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    t.match(first.output(), /"database migrated"/);
    t.match(first.output(), new RegExp(`gatehouse listening on http://127\\.0\\.0\\.1:${port} \\(issuer http://localhost:${port}, database ${kind}\\)`));
    t.notMatch(first.output(), /secret|password/i, 'no secrets in the start-up log');
    if (kind === 'sqlite') {
      t.equal((await stat(join(dir, 'data', 'gatehouse.db'))).mode & 0o777, 0o600, 'the database file is private');
      t.equal((await stat(join(dir, 'data', 'secrets.json'))).mode & 0o777, 0o600);
    }

    const now = new Date().toISOString();
    await execute(db, `INSERT INTO users (id, email, status, created_at, updated_at) VALUES ('u1', 'kept@example.com', 'active', '${now}', '${now}')`);

    first.child.kill('SIGTERM');
    t.equal(await first.exited, 0, 'exit 0 after draining');
    t.match(first.output(), /"stopped"/);
    const notJson = first.output().split('\n').filter((line) => line.trim() !== '' && !isJson(line));
    t.same(notJson, [], 'every line the server wrote is a JSON log line (no plain-text runtime warnings)');

    const second = startProcess(t, MAIN_JS, [], env, dir);
    t.comment(`restart: ready in ${Math.round(await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200))} ms`);
    t.notMatch(second.output(), /"database migrated"/, 'the second start applies nothing');
    t.same((await execute(db, "SELECT email FROM users WHERE id = 'u1'")).length, 1, 'and keeps the data');
    second.child.kill('SIGINT');
    t.equal(await second.exited, 0);
  });
}

t.test('bad configuration stops the start with one message naming every bad variable', async (t) => {
  const dir = await tempDir(t);
  const { code, stdout, stderr } = await runProcess(MAIN_JS, [], { PORT: 'abc', ISSUER: 'ftp://x' }, dir);
  t.not(code, 0);
  t.equal(stdout, '');
  t.match(stderr, /PORT: must be an integer/);
  t.match(stderr, /ISSUER: must be an http or https URL/);
  t.equal(stderr.trim().split('\n').length, 3, 'one heading line and one line per variable');
  t.notMatch(stderr, /at .*\.js:\d+/, 'no stack trace');
});

t.test('an unreachable database stops the start with a readable one-line error', async (t) => {
  const dir = await tempDir(t);
  const { code, stderr } = await runProcess(MAIN_JS, [], { PORT: String(await freePort()), DATABASE_URL: 'postgresql://gatehouse:pw@127.0.0.1:1/gh' }, dir);
  t.equal(code, 2);
  t.match(stderr, /^gatehouse: failed to start: .*ECONNREFUSED/m);
  t.notMatch(stderr, /pw@/, 'no password');
});

function isJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}
