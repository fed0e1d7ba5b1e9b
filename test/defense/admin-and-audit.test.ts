import t from 'tap';
import { cli } from '../helpers/cli.ts';
import { defenseCluster, REDIRECT } from '../helpers/defense.ts';
import { PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { attemptLogin } from '../helpers/login.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

t.test('the admin API: a gatehouse:admin token for $ISSUER/admin does what the CLI does', async (t) => {
  const { first: gh, configs, victim } = await defenseCluster(t, { kind: 'sqlite' });
  const adminAudience = `${gh.issuer}/admin`;
  const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [adminAudience], scope: 'gatehouse:admin' });
  const token = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!))).json.access_token);
  const admin = (method: string, path: string, body?: unknown, bearer = token) =>
    fetch(`${gh.issuer}${path}`, {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  const anonymous = await admin('GET', '/admin/users', undefined, '');
  t.equal(anonymous.status, 401);
  t.match(anonymous.headers.get('www-authenticate'), /^Bearer realm="gatehouse-admin"/);
  const forged = await admin('GET', '/admin/users', undefined, `${token.slice(0, -4)}AAAA`);
  t.equal(forged.status, 401);
  // A token for another API, or without the scope, is refused.
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [adminAudience] });
  const unscoped = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, job.client_secret!))).json.access_token);
  const noScope = await admin('GET', '/admin/users', undefined, unscoped);
  t.equal(noScope.status, 403);
  t.equal(((await noScope.json()) as { error: string }).error, 'insufficient_scope');

  const users = (await (await admin('GET', '/admin/users')).json()) as { email: string }[];
  t.same(users.map((u) => u.email), ['victim@example.com']);
  t.notMatch(JSON.stringify(users), /argon2/, 'never a password hash');

  const ban = await admin('POST', `/admin/users/${encodeURIComponent(victim.email)}/ban`, { reason: 'chargebacks' });
  t.equal(ban.status, 200);
  t.equal(((await ban.json()) as { status: string }).status, 'banned');
  t.equal((await attemptLogin(configs[0]!, REDIRECT, new UserAgent(), victim.email, PASSWORD)).status, 403);
  t.match(await (await fetch(`${gh.issuer}/metrics`)).text(), /gatehouse_bans\{kind="user"\} 1/, '/metrics counts banned users');
  t.equal((await admin('POST', `/admin/users/${encodeURIComponent(victim.email)}/unban`)).status, 200);
  t.equal((await admin('POST', '/admin/users/nobody%40example.com/ban', {})).status, 404);
  t.equal((await admin('POST', '/admin/ips/ban', { ip: '203.0.113.0/24', for: '1h' })).status, 200);
  t.same(((await (await admin('GET', '/admin/ips')).json()) as { ip: string }[]).map((b) => b.ip), ['203.0.113.0/24']);
  t.equal((await admin('POST', '/admin/ips/ban', { ip: 'nope' })).status, 400);
  t.equal((await admin('POST', '/admin/ips/unban', { ip: '203.0.113.0/24' })).status, 200);
  const created = await admin('POST', '/admin/clients', { name: 'from the api', grant_types: ['client_credentials'], resources: [adminAudience] });
  t.equal(created.status, 201);
  t.match(await created.json(), { client_name: 'from the api', client_secret: /^[A-Za-z0-9_-]{43}$/ });
  t.equal((await admin('POST', '/admin/clients', { name: 'x', grant_types: ['password'] })).status, 400);
  // Paging: numbers in the query string are read as numbers, and anything else is a clear 400.
  await admin('POST', '/admin/users', { email: 'second@example.com', password: PASSWORD });
  const page = async (path: string) => {
    const r = await admin('GET', path);
    return { status: r.status, json: (await r.json()) as { email?: string; error?: string }[] & { error?: string } };
  };
  const all = await page('/admin/users?limit=100');
  t.equal(all.json.length, 2, 'two users');
  const one = await page('/admin/users?limit=1');
  t.equal(one.status, 200, '?limit=1 is accepted');
  t.equal(one.json.length, 1, 'and gives one user');
  const next = await page('/admin/users?limit=1&offset=1');
  t.same(next.json.map((u) => u.email), [all.json[1]!.email], 'offset=1 gives the second');
  for (const bad of ['limit=five', 'limit=0', 'limit=1.5', 'offset=-1']) {
    const r = await page(`/admin/users?${bad}`);
    t.equal(r.status, 400, `?${bad} is a 400`);
    t.equal(r.json.error, 'invalid_request');
  }
  const auditPage = await page('/admin/audit?limit=2');
  t.equal(auditPage.status, 200);
  t.equal(auditPage.json.length, 2, '/admin/audit?limit=2 gives two events');
  const keys = (await (await admin('GET', '/admin/keys')).json()) as { state: string }[];
  t.same(keys.map((k) => k.state), ['active', 'active']);

  const audit = (await (await admin('GET', `/admin/audit?user=${encodeURIComponent(victim.email)}`)).json()) as { type: string; detail: Record<string, unknown> }[];
  t.same(audit.map((e) => e.type).slice(0, 3), ['user.unbanned', 'login.failed', 'user.banned']);
  t.match(audit.find((e) => e.type === 'user.banned')!.detail, { reason: 'chargebacks', by: `admin api (client ${ops.client_id})` });

  await gh.services.clients.delete(ops.client_id);
  t.equal((await admin('GET', '/admin/users')).status, 401, 'a deleted client’s token stops working at once');
});

t.test('gatehouse audit: filters and the contract shape; users unlock lifts a lock', async (t) => {
  const { first: gh, configs, victim } = await defenseCluster(t, { kind: 'sqlite', env: { ACCOUNT_LOCK_AFTER: '3' } });
  for (let i = 0; i < 3; i++) await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': `198.51.100.${i + 1}` }), victim.email, `wrong-${i}`);
  const locked = await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.9' }), victim.email, PASSWORD);
  t.equal(locked.status, 429, 'locked after ACCOUNT_LOCK_AFTER failures, even for the right password from a new browser');
  t.match(locked.body, /Too many sign-in attempts/);

  const vars = { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, LOG_LEVEL: 'silent' };
  t.equal((await cli(['users', 'unlock', victim.email], vars, gh.config.dataDir)).code, 0);
  t.equal((await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.9' }), victim.email, PASSWORD)).status, 303, 'unlocked');

  const all = await cli(['audit', '--user', victim.email, '--json'], vars, gh.config.dataDir);
  t.equal(all.code, 0);
  const events = all.json() as Record<string, unknown>[];
  t.same(Object.keys(events[0]!).filter((k) => !['email', 'client_id', 'user_id'].includes(k)).sort(), ['at', 'detail', 'ip', 'type', 'user_agent']);
  t.same(
    events.map((e) => e.type),
    ['login.succeeded', 'user.unlocked', 'login.throttled', 'user.locked', 'login.failed', 'login.failed', 'login.failed', 'user.created'],
  );
  t.ok(events.every((e) => /Z$/.test(String(e.at))), 'UTC');
  t.notMatch(all.stdout, /wrong-\d|correct horse/, 'never a password');
  const failed = await cli(['audit', '--type', 'login.failed', '--limit', '2', '--json'], vars, gh.config.dataDir);
  t.equal(failed.json().length, 2);
  t.equal((await cli(['audit', '--since', new Date(Date.now() + 3600_000).toISOString(), '--json'], vars, gh.config.dataDir)).json().length, 0);
  t.equal((await cli(['audit', '--type', 'no.such', '--json'], vars, gh.config.dataDir)).code, 1);
  t.equal((await cli(['audit', '--since', 'yesterday', '--json'], vars, gh.config.dataDir)).code, 1);
});
