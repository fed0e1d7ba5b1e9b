import t, { type Test } from 'tap';
import { cli } from '../helpers/cli.ts';
import { createTestDatabase, DEFAULT_KIND } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { migrate } from '../../src/persistence/migrate.ts';

/** `clients update`, `clients rotate-secret`, `resources update`: output, exit codes, help. */

const API = 'https://orders.example.com';
const API2 = 'https://billing.example.com';

async function env(t: Test) {
  const dir = await tempDir(t);
  const db = await createTestDatabase(t, DEFAULT_KIND);
  await migrate(db.kind, db.url);
  const vars = { DATABASE_URL: db.url, DATA_DIR: dir, LOG_LEVEL: 'silent' };
  const run = (argv: string[]) => cli(argv, vars, dir);
  const json = async (argv: string[]) => {
    const r = await run([...argv, '--json']);
    if (r.code !== 0) throw new Error(`gatehouse ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.json();
  };
  await json(['resources', 'create', '--audience', API, '--scope', 'orders:read orders:write']);
  await json(['resources', 'create', '--audience', API2, '--scope', 'bills:read']);
  return { run, json };
}

t.test('clients update changes the given fields only; a repeated option replaces the list', async (t) => {
  const { run, json } = await env(t);
  const web = await json(['clients', 'create', '--name', 'Shop', '--redirect-uri', 'https://shop.example.com/cb', '--post-logout-redirect-uri', 'https://shop.example.com/', '--scope', 'openid email', '--resource', API]);

  const updated = await json(['clients', 'update', web.client_id, '--redirect-uri', 'https://shop.example.com/a', '--redirect-uri', 'https://shop.example.com/b', '--resource', API2, '--resource', API]);
  t.same(updated.redirect_uris, ['https://shop.example.com/a', 'https://shop.example.com/b'], 'the whole list replaced');
  t.same(updated.resources, [API2, API], 'the first is the new default');
  t.same(updated.changed, ['redirect_uris', 'resources']);
  t.match(updated, { client_name: 'Shop', scope: 'openid email', post_logout_redirect_uris: ['https://shop.example.com/'], grant_types: ['authorization_code', 'refresh_token'] }, 'the rest as it was');
  t.notOk('client_secret' in updated);

  const text = await run(['clients', 'update', web.client_id, '--name', 'Shop 2', '--scope', 'openid email offline_access']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^changed name, scope\n/);
  t.match(text.stdout, /name\s+Shop 2/);
  t.match((await run(['clients', 'update', web.client_id, '--name', 'Shop 2'])).stdout, /^nothing changed/);

  const audit = await json(['audit', '--type', 'client.updated']);
  t.same(audit.map((e: { detail: unknown }) => e.detail), [{ changed: ['name', 'scope'] }, { changed: ['redirect_uris', 'resources'] }]);
  t.ok(audit.every((e: { client_id: string }) => e.client_id === web.client_id));
});

t.test('clients update refuses what create refuses, with the same message, and unknown clients', async (t) => {
  const { run, json } = await env(t);
  const web = await json(['clients', 'create', '--name', 'Shop', '--redirect-uri', 'https://shop.example.com/cb', '--scope', 'openid']);
  const job = await json(['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API]);
  const same: [string[], string[]][] = [
    [['--redirect-uri', 'http://evil.example.com/cb'], ['--name', 'x', '--redirect-uri', 'http://evil.example.com/cb']],
    [['--redirect-uri', 'https://a.example.com/cb#frag'], ['--name', 'x', '--redirect-uri', 'https://a.example.com/cb#frag']],
    [['--post-logout-redirect-uri', 'not a url'], ['--name', 'x', '--post-logout-redirect-uri', 'not a url']],
    [['--scope', 'email'], ['--name', 'x', '--redirect-uri', 'https://a.example.com/cb', '--scope', 'email']],
    [['--resource', 'https://unknown.example.com'], ['--name', 'x', '--grant', 'client_credentials', '--resource', 'https://unknown.example.com']],
  ];
  for (const [update, create] of same) {
    const u = await run(['clients', 'update', web.client_id, ...update, '--json']);
    const c = await run(['clients', 'create', ...create, '--json']);
    t.equal(u.code, 1, `update ${update.join(' ')} → exit 1`);
    t.equal(u.json().error_description, c.json().error_description, `the message create gives: ${u.json().error_description}`);
    t.equal(u.stderr.trim().split('\n').length, 1, 'one line on stderr');
  }
  const usage: string[][] = [
    ['clients', 'update', web.client_id],
    ['clients', 'update', '--name', 'x'],
    ['clients', 'update', web.client_id, job.client_id, '--name', 'x'],
    ['clients', 'update', web.client_id, '--grant', 'client_credentials'],
    ['clients', 'update', web.client_id, '--name', ''],
    ['clients', 'update', job.client_id, '--redirect-uri', 'https://a.example.com/cb'],
  ];
  for (const argv of usage) {
    const r = await run([...argv, '--json']);
    t.equal(r.code, 1, `${argv.slice(2).join(' ')} → exit 1 (${r.json().error_description})`);
  }
  const unknown = await run(['clients', 'update', 'no-such-client', '--name', 'x', '--json']);
  t.equal(unknown.code, 2, 'an unknown client is a runtime error, like clients show');
  t.same(unknown.json(), { error: 'not_found', error_description: 'no client with id no-such-client' });
  t.same((await json(['audit', '--type', 'client.updated'])), [], 'nothing refused was written');
  t.match(await json(['clients', 'show', web.client_id]), { client_name: 'Shop', redirect_uris: ['https://shop.example.com/cb'], scope: 'openid' });
});

t.test('clients rotate-secret prints the new secret once; public clients have none', async (t) => {
  const { run, json } = await env(t);
  const job = await json(['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API]);
  const started = Date.now();
  const rotated = await json(['clients', 'rotate-secret', job.client_id, '--overlap', '2h']);
  t.same(Object.keys(rotated).sort(), ['client_id', 'client_secret', 'previous_secret_expires_at']);
  t.match(rotated.client_secret, /^[A-Za-z0-9_-]{43}$/);
  const until = Date.parse(rotated.previous_secret_expires_at);
  t.ok(until >= started + 7200_000 && until <= Date.now() + 7200_000, '--overlap 2h');
  const shown = await run(['clients', 'show', job.client_id]);
  t.match(shown.stdout, new RegExp(`old secret\\s+accepted until ${rotated.previous_secret_expires_at}`));
  t.notMatch(shown.stdout, rotated.client_secret, 'the secret is shown once only');

  const text = await run(['clients', 'rotate-secret', job.client_id, '--overlap', '0']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /client_secret\s+[A-Za-z0-9_-]{43}\s+\(shown once/);
  t.match(text.stdout, /old secret\s+no longer accepted/);
  const byDefault = await json(['clients', 'rotate-secret', job.client_id]);
  t.ok(Date.parse(byDefault.previous_secret_expires_at) >= started + 86_400_000, 'a day by default');

  const spa = await json(['clients', 'create', '--name', 'SPA', '--public', '--redirect-uri', 'https://spa.example.com/cb']);
  const pub = await run(['clients', 'rotate-secret', spa.client_id, '--json']);
  t.equal(pub.code, 1);
  t.match(pub.json().error_description, /public client: it has no secret to rotate/);
  for (const overlap of ['soon', '-1', '1w', '31d']) {
    const r = await run(['clients', 'rotate-secret', job.client_id, '--overlap', overlap, '--json']);
    t.equal(r.code, 1, `--overlap ${overlap} → exit 1 (${r.json().error_description})`);
  }
  const unknown = await run(['clients', 'rotate-secret', 'no-such-client', '--json']);
  t.equal(unknown.code, 2);
  t.equal(unknown.json().error, 'not_found');
  const events = await json(['audit', '--type', 'client.secret_rotated']);
  t.same(events.map((e: { detail: { overlap_seconds: number } }) => e.detail.overlap_seconds), [86400, 0, 7200]);
  t.notMatch(JSON.stringify(events), rotated.client_secret, 'never a secret in the audit log');
});

t.test('resources update changes scope, TTL and description', async (t) => {
  const { run, json } = await env(t);
  const changed = await json(['resources', 'update', API, '--scope', 'orders:read orders:refund', '--ttl', '5m', '--description', 'the orders service']);
  t.match(changed, { audience: API, scopes: ['orders:read', 'orders:refund'], access_token_ttl: 300, description: 'the orders service', changed: ['scope', 'ttl', 'description'] });
  const text = await run(['resources', 'update', API, '--ttl', 'default', '--description', '']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^changed ttl, description \(running servers use it within 5 s\)\nAPI https:\/\/orders\.example\.com {2}scopes: orders:read orders:refund {2}ttl: default$/m);
  t.match((await json(['resources', 'list'])).find((r: { audience: string }) => r.audience === API), { access_token_ttl: null, description: null });
  const created = await json(['resources', 'create', '--audience', 'https://notes.example.com', '--description', 'has a note']);
  t.equal(created.description, 'has a note', 'create takes a description too');

  for (const argv of [
    ['resources', 'update', API],
    ['resources', 'update', '--ttl', '60'],
    ['resources', 'update', API, '--scope', 'openid'],
    ['resources', 'update', API, '--ttl', '10'],
    ['resources', 'update', API, '--ttl', 'soon'],
    ['resources', 'update', API, '--audience', API2],
    ['resources', 'update', 'http://localhost:3000/admin', '--scope', 'other'],
  ]) {
    const r = await run([...argv, '--json']);
    t.equal(r.code, 1, `${argv.slice(2).join(' ')} → exit 1 (${r.json().error_description})`);
  }
  const unknown = await run(['resources', 'update', 'https://nowhere.example.com', '--ttl', '60', '--json']);
  t.equal(unknown.code, 2);
  t.equal(unknown.json().error, 'not_found');
  t.equal((await json(['audit', '--type', 'resource.updated'])).length, 2);
});

t.test('--help describes the three commands and their options', async (t) => {
  const { run } = await env(t);
  const all = await run(['--help']);
  t.match(all.stdout, /clients update <client_id>/);
  t.match(all.stdout, /clients rotate-secret <client_id>/);
  t.match(all.stdout, /resources update <audience>/);
  const update = await run(['clients', 'update', '--help']);
  t.equal(update.code, 0);
  for (const option of ['--name', '--redirect-uri <value> (repeatable)', '--post-logout-redirect-uri <value> (repeatable)', '--scope', '--resource <value> (repeatable)']) {
    t.ok(update.stdout.includes(option), `clients update --help lists ${option}`);
  }
  t.match(update.stdout, /replaces the whole list/);
  const rotate = await run(['clients', 'rotate-secret', '--help']);
  t.match(rotate.stdout, /--overlap <value> .*0 ends it now; default 1d.*only the newest old secret is kept/i);
  const resources = await run(['resources', 'update', '--help']);
  for (const option of ['--scope', '--ttl', '--description']) t.ok(resources.stdout.includes(option), `resources update --help lists ${option}`);
  t.match(resources.stdout, /within 5 s/);
});
