import t, { type Test } from 'tap';
import { cli } from '../helpers/cli.ts';
import { createTestDatabase, DEFAULT_KIND } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { migrate } from '../../src/persistence/migrate.ts';

async function env(t: Test) {
  const dir = await tempDir(t);
  const db = await createTestDatabase(t, DEFAULT_KIND);
  // Only `gatehouse migrate` and the server's start create the schema.
  await migrate(db.kind, db.url);
  return { dir, vars: { DATABASE_URL: db.url, DATA_DIR: dir, LOG_LEVEL: 'silent' } };
}

t.test('resources and clients: create, list, show, delete with --json', async (t) => {
  const { dir, vars } = await env(t);
  const api = await cli(['resources', 'create', '--audience', 'https://api.example.com', '--scope', 'orders:read orders:write', '--ttl', '5m', '--json'], vars, dir);
  t.equal(api.code, 0, api.stderr);
  t.same(api.json(), { audience: 'https://api.example.com', scopes: ['orders:read', 'orders:write'], access_token_ttl: 300, description: null, scope_descriptions: {}, created_at: api.json().created_at });

  const dup = await cli(['resources', 'create', '--audience', 'https://api.example.com', '--json'], vars, dir);
  t.equal(dup.code, 2, 'a conflict is a runtime error');
  t.equal(dup.json().error, 'conflict');

  const job = await cli(
    ['clients', 'create', '--name', 'billing', '--grant', 'client_credentials', '--resource', 'https://api.example.com', '--introspect', 'https://api.example.com', '--json'],
    vars,
    dir,
  );
  t.equal(job.code, 0, job.stderr);
  const created = job.json();
  t.match(created.client_id, /^[A-Za-z0-9_-]{20,}$/);
  t.match(created.client_secret, /^[A-Za-z0-9_-]{43}$/, '256-bit secret, shown once');
  t.same(created.grant_types, ['client_credentials']);
  t.same(created.introspects, ['https://api.example.com'], 'the API whose tokens it may introspect');

  const web = await cli(
    ['clients', 'create', '--name', 'Shop', '--redirect-uri', 'https://shop.example.com/cb', '--public', '--scope', 'openid email offline_access', '--json'],
    vars,
    dir,
  );
  t.equal(web.code, 0, web.stderr);
  t.equal(web.json().client_secret, undefined, 'public clients have no secret');
  t.same(web.json().grant_types, ['authorization_code', 'refresh_token']);
  t.equal(web.json().token_endpoint_auth_method, 'none');

  const list = await cli(['clients', 'list', '--json'], vars, dir);
  t.same(list.json().map((c: { client_name: string }) => c.client_name), ['billing', 'Shop']);
  t.notMatch(list.stdout, created.client_secret, 'secrets are never shown again');
  t.notOk(list.json().some((c: Record<string, unknown>) => 'client_secret' in c));

  const show = await cli(['clients', 'show', created.client_id], vars, dir);
  t.match(show.stdout, /name\s+billing/);
  t.notMatch(show.stdout, new RegExp(created.client_secret));

  const inUse = await cli(['resources', 'delete', 'https://api.example.com', '--json'], vars, dir);
  t.equal(inUse.code, 2);
  t.match(inUse.json().error_description, new RegExp(created.client_id), 'refused while a client uses it');

  t.equal((await cli(['clients', 'delete', created.client_id], vars, dir)).code, 0);
  t.equal((await cli(['clients', 'show', created.client_id, '--json'], vars, dir)).json().error, 'not_found');
  t.equal((await cli(['resources', 'delete', 'https://api.example.com'], vars, dir)).code, 0);
  t.same((await cli(['resources', 'list', '--json'], vars, dir)).json().map((r: { audience: string }) => r.audience), ['http://localhost:3000/admin'], 'only the admin API remains');
});

t.test('bad client and resource input is a usage error (exit 1) and writes nothing', async (t) => {
  const { dir, vars } = await env(t);
  const bad = [
    ['clients', 'create'],
    ['clients', 'create', '--name', 'x', '--redirect-uri', 'http://evil.example.com/cb'],
    ['clients', 'create', '--name', 'x', '--redirect-uri', 'https://a.example.com/cb#frag'],
    ['clients', 'create', '--name', 'x', '--redirect-uri', 'not a url'],
    ['clients', 'create', '--name', 'x', '--grant', 'password'],
    ['clients', 'create', '--name', 'x', '--grant', 'client_credentials'],
    ['clients', 'create', '--name', 'x', '--grant', 'client_credentials', '--resource', 'https://unknown.example.com'],
    ['clients', 'create', '--name', 'x', '--grant', 'client_credentials', '--public'],
    ['clients', 'create', '--name', 'x', '--grant', 'authorization_code'],
    ['clients', 'create', '--name', 'x', '--redirect-uri', 'https://a.example.com/cb', '--scope', 'email'],
    ['resources', 'create', '--audience', 'not-a-uri'],
    ['resources', 'create', '--audience', 'https://api.example.com', '--scope', 'openid'],
    ['resources', 'create', '--audience', 'https://api.example.com', '--ttl', '10'],
    ['resources', 'create', '--audience', 'https://api.example.com', '--ttl', 'soon'],
  ];
  for (const argv of bad) {
    const r = await cli([...argv, '--json'], vars, dir);
    t.equal(r.code, 1, `${argv.slice(2).join(' ')} → exit 1 (${r.json().error_description})`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  }
  t.same((await cli(['clients', 'list', '--json'], vars, dir)).json(), []);
  t.same((await cli(['resources', 'list', '--json'], vars, dir)).json().map((r: { audience: string }) => r.audience), ['http://localhost:3000/admin'], 'nothing but the built-in admin API');
});

t.test('users create reads the password from stdin only', async (t) => {
  const { dir, vars } = await env(t);
  const r = await cli(['users', 'create', 'Alice@Example.com', '--password-stdin', '--verified', '--json'], vars, dir, 'a long enough passphrase\n');
  t.equal(r.code, 0, r.stderr);
  t.match(r.json(), { email: 'alice@example.com', status: 'active', email_verified: true });
  t.notMatch(r.stdout, /passphrase/);
  const noStdin = await cli(['users', 'create', 'bob@example.com', '--json'], vars, dir, 'whatever password');
  t.equal(noStdin.code, 1, 'without --password-stdin: refused');
  const weak = await cli(['users', 'create', 'bob@example.com', '--password-stdin', '--json'], vars, dir, 'password123\n');
  t.equal(weak.code, 1);
  t.match(weak.json().error_description, /common/);
  const dup = await cli(['users', 'create', 'ALICE@example.com', '--password-stdin', '--json'], vars, dir, 'another long passphrase\n');
  t.equal(dup.code, 2);
  t.equal(dup.json().error, 'conflict');
  const shown = await cli(['users', 'show', 'alice@example.com', '--json'], vars, dir);
  t.equal(shown.json().email, 'alice@example.com');
  t.equal((await cli(['users', 'list', '--json'], vars, dir)).json().length, 1);
});
