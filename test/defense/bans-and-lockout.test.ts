import * as oidc from 'openid-client';
import t from 'tap';
import { cli } from '../helpers/cli.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { steppableClock } from '../helpers/clock.ts';
import { defenseCluster, REDIRECT } from '../helpers/defense.ts';
import { PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { attemptLogin } from '../helpers/login.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { startAuthorization, signIn } from '../helpers/relying-party.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

// A hang guard, not a speed requirement: this file runs many server or CLI processes, and on a loaded
// machine (two suites side by side on two cores) such files came within reach of the default 180 s.
t.setTimeout(600_000);

const API = 'https://orders.example.com';

t.test('a ban during an active session: refresh fails at once, introspection says inactive, logins refused; unban restores', async (t) => {
  const { first: gh, client, configs, audit, victim } = await defenseCluster(t);
  await registerApi(gh.services, API, 'orders:read');
  const rs = await registerClient(gh.services, { name: 'orders api', grants: ['client_credentials'], resources: [API], introspects: [API] });
  await gh.services.clients.delete(client.client_id);
  const web = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'], resources: [API] });
  const config = await (await import('../helpers/relying-party.ts')).relyingParty(gh, web);
  void configs;

  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access orders:read', prompt: 'consent', resource: API });
  const step = await signIn(new UserAgent({ 'x-forwarded-for': '192.0.2.1' }), start.url, REDIRECT, victim.email, PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(step.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state });
  const introspect = async (token: string, auth = basic(rs.client_id, rs.client_secret!)) => (await postForm(`${gh.issuer}/token/introspection`, { token }, auth)).json;
  t.equal((await introspect(tokens.access_token)).active, true);

  const vars = { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, LOG_LEVEL: 'silent' };
  const banned = await cli(['users', 'ban', victim.email, '--reason', 'credential stuffing source', '--json'], vars, gh.config.dataDir);
  t.equal(banned.code, 0, banned.stderr);
  t.ok(banned.json().revoked >= 2, 'sessions, grant and tokens revoked');

  const refresh = await postForm(`${gh.issuer}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, basic(web.client_id, web.client_secret!));
  t.equal(refresh.status, 400);
  t.equal(refresh.json.error, 'invalid_grant', 'the refresh token fails at once');
  t.same(await introspect(tokens.access_token), { active: false }, 'introspection of its JWT access token says inactive');
  t.same(await introspect(tokens.refresh_token!, basic(web.client_id, web.client_secret!)), { active: false }, 'its refresh token too, asked by its own client');

  const right = await attemptLogin(config, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.2' }), victim.email, PASSWORD);
  t.equal(right.status, 403);
  t.match(right.body, /This account is disabled\./, 'the right password learns about the ban');
  const wrong = await attemptLogin(config, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.3' }), victim.email, 'not it');
  t.equal(wrong.status, 401);
  t.match(wrong.body, /The email or password is not correct\./, 'a wrong password does not');
  t.notMatch(wrong.body, /disabled/);

  const shown = async () => (await cli(['users', 'show', victim.email, '--json'], vars, gh.config.dataDir)).json();
  const first = await shown();
  t.equal(first.ban_reason, 'credential stuffing source');
  t.equal((await cli(['users', 'ban', victim.email], vars, gh.config.dataDir)).code, 0, 'banning again is allowed');
  t.equal((await shown()).ban_reason, 'credential stuffing source', 'a second ban without a reason keeps the stored one');
  t.equal((await cli(['users', 'ban', victim.email, '--reason', 'confirmed abuse'], vars, gh.config.dataDir)).code, 0);
  const updated = await shown();
  t.equal(updated.ban_reason, 'confirmed abuse', 'a new reason replaces it');
  t.equal(updated.banned_at, first.banned_at, 'and the ban keeps its first time');

  t.equal((await cli(['users', 'unban', victim.email], vars, gh.config.dataDir)).code, 0);
  t.equal((await attemptLogin(config, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.4' }), victim.email, PASSWORD)).status, 303, 'unban restores login');
  t.same(
    (await audit('user.banned', victim.email)).map((e) => e.detail.reason).sort(),
    [null, 'confirmed abuse', 'credential stuffing source'].sort(),
    'each ban is audited with the reason given to it',
  );
  t.equal((await audit('user.unbanned', victim.email)).length, 1);
});

t.test('100 consecutive failures disable the password; the mailed reset restores access', async (t) => {
  // Wall time: the in-process server's oidc-provider and its keyring (seeded a day back) measure real time.
  const clock = steppableClock(systemClock.now());
  const { first: gh, configs, audit, victim } = await defenseCluster(t, { kind: 'sqlite', clock });
  let ip = 0;
  const attacker = () => new UserAgent({ 'x-forwarded-for': `198.18.${Math.floor(ip / 200)}.${(ip++ % 200) + 1}` });
  let failures = 0;
  while (failures < 100) {
    const r = await attemptLogin(configs[0]!, REDIRECT, attacker(), victim.email, `guess-${failures}`);
    if (r.status === 401) failures += 1;
    else if (r.status === 429) clock.advance(Number(r.retryAfter)); // the attacker waits out each lock
    else t.fail(`unexpected ${r.status}`);
  }
  const locks = await audit('user.locked', victim.email);
  t.equal(locks.length, 5, 'locked every 20 failures');
  t.same(locks.map((e) => (Date.parse(String(e.detail.until)) - e.at.getTime()) / 60_000).sort((a, b) => a - b), [15, 30, 60, 120, 240], 'doubling');
  const disabled = await audit('user.password_disabled', victim.email);
  t.equal(disabled.length, 1, 'the password was disabled at the 100th failure');
  await gh.services.background.idle();
  const notice = await lastMailTo(gh.config.dataDir, victim.email);
  t.match(notice.subject, /disabled/, 'and the owner was told by mail');

  const locked = await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.50' }), victim.email, PASSWORD);
  t.equal(locked.status, 429, 'the 100th failure also started the fifth lock');
  clock.advance(Number(locked.retryAfter));
  const right = await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.50' }), victim.email, PASSWORD);
  t.equal(right.status, 403);
  t.match(right.body, /disabled after too many failed sign-ins/, 'even the right password no longer works');

  const forgot = await fetch(`${gh.issuer}/account/password/forgot`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.50' }, body: JSON.stringify({ email: victim.email }) });
  t.equal(forgot.status, 202);
  await gh.services.background.idle();
  const resetMail = await lastMailTo(gh.config.dataDir, victim.email);
  const token = new URL(resetMail.link!).searchParams.get('token')!;
  const reset = await fetch(`${gh.issuer}/account/password/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'a brand new passphrase 2026' }) });
  t.equal(reset.status, 204);
  const back = await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '192.0.2.51' }), victim.email, 'a brand new passphrase 2026');
  t.equal(back.status, 303, 'the reset restores access (and lifts the lock)');
});

t.test('client authentication failures are throttled per client and IP', async (t) => {
  const { first: gh } = await defenseCluster(t, { kind: 'sqlite' });
  await registerApi(gh.services, API, 'orders:read');
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 8; i++) {
    const r = await fetch(`${gh.issuer}/token`, { method: 'POST', headers: { authorization: basic(job.client_id, `wrong-${i}`), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.20' }, body: 'grant_type=client_credentials' });
    statuses.push(r.status);
    if (r.status === 429) {
      retryAfter = r.headers.get('retry-after');
      t.equal(((await r.json()) as { error: string }).error, 'too_many_requests');
    }
  }
  t.same(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
  t.ok(Number(retryAfter) >= 1, 'with Retry-After');
  const ok = await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, job.client_secret!));
  t.equal(ok.status, 200, 'the right secret still works (from elsewhere, and it is never guessed)');
  // Deliberate: the throttle stops guessing, and a 256-bit secret is never guessed; refusing the right
  // secret would let anyone behind the same address (a NAT, a cloud egress) lock a backend out.
  const sameIp = await fetch(`${gh.issuer}/token`, { method: 'POST', headers: { authorization: basic(job.client_id, job.client_secret!), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.20' }, body: 'grant_type=client_credentials' });
  t.equal(sameIp.status, 200, 'the right secret works from the throttled address too');
  const events = await gh.services.auditStore.query({ type: 'client_auth.failed', limit: 20 });
  t.equal(events.length, 8, 'every failure audited (and the right secret is not a failure)');
});

t.test('signups and reset requests are limited per IP; IP bans refuse everything but health checks', async (t) => {
  // Starts at wall time: the CLI is another process and stamps its bans with the system clock.
  const clock = steppableClock(systemClock.now());
  const { first: gh, configs, victim } = await defenseCluster(t, { kind: 'sqlite', clock });
  const signup = (i: number, ip: string) =>
    fetch(`${gh.issuer}/account/signup`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ email: `new${i}@example.com`, password: 'a perfectly fine passphrase' }) });
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await signup(i, '198.51.100.30')).status);
  t.same(statuses, [202, 202, 202, 202, 202, 202, 202, 202, 202, 202, 429, 429], 'IP_SIGNUP_LIMIT (10) per window');
  t.equal((await signup(99, '198.51.100.31')).status, 202, 'another IP is fine');
  const forgot = (ip: string) => fetch(`${gh.issuer}/account/password/forgot`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ email: victim.email }) });
  const resets: number[] = [];
  for (let i = 0; i < 11; i++) resets.push((await forgot('198.51.100.40')).status);
  t.equal(resets.filter((s) => s === 202).length, 10);
  t.equal(resets.at(-1), 429);

  const vars = { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, LOG_LEVEL: 'silent' };
  t.equal((await cli(['ips', 'ban', '203.0.113.0/24', '--for', '1h', '--reason', 'scanner'], vars, gh.config.dataDir)).code, 0);
  clock.advance(3); // the ban list is cached for two seconds
  const banned = { 'x-forwarded-for': '203.0.113.99' };
  t.equal((await fetch(`${gh.issuer}/.well-known/openid-configuration`, { headers: banned })).status, 403, 'protocol endpoints');
  t.equal((await fetch(`${gh.issuer}/token`, { method: 'POST', headers: banned })).status, 403, 'token endpoint');
  const page = await fetch(`${gh.issuer}/account/password/forgot`, { headers: { ...banned, accept: 'text/html' } });
  t.equal(page.status, 403);
  t.match(await page.text(), /blocked/);
  t.equal((await fetch(`${gh.issuer}/healthz`, { headers: banned })).status, 200, 'health checks are never banned');
  t.equal((await fetch(`${gh.issuer}/metrics`, { headers: banned })).status, 403, 'metrics are');
  const login = await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '203.0.113.200' }), victim.email, PASSWORD).catch((e: Error) => e.message);
  t.match(String(typeof login === 'string' ? login : login.status), /403/, 'no login page from a banned range');
  const listed = await cli(['ips', 'list', '--json'], vars, gh.config.dataDir);
  t.same(listed.json().map((b: { ip: string }) => b.ip), ['203.0.113.0/24']);
  t.equal((await cli(['ips', 'unban', '203.0.113.0/24'], vars, gh.config.dataDir)).code, 0);
  clock.advance(3);
  t.equal((await fetch(`${gh.issuer}/.well-known/openid-configuration`, { headers: banned })).status, 200, 'unbanned');
  t.equal((await cli(['ips', 'ban', 'not-an-ip'], vars, gh.config.dataDir)).code, 1);
});
