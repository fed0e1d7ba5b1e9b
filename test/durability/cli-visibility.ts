import * as oidc from 'openid-client';
import type { Test } from 'tap';
import type { DatabaseKind } from '../../src/config/schema.ts';
import { gatehouseDeployment, sqlite3, type GatehouseDeployment, type GatehouseServer } from '../helpers/gatehouse-process.ts';
import { attemptLogin } from '../helpers/login.ts';
import { readOutbox } from '../helpers/outbox.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * Every CLI command that writes, run as its own process beside a server process that has already
 * served traffic: its effect reaches the server at once (clients, users, bans) or within the delay
 * README states (API definitions 5 s, IP bans 2 s, keys one KEY_RELOAD_INTERVAL, 1 s here). And the
 * reverse: what the server writes, the CLI and sqlite3 see at once.
 */

const API = 'https://orders.example.com';
const API2 = 'https://billing.example.com';
const REDIRECT = 'https://app.example.com/callback';
const PASSWORD = 'correct horse battery staple 9';
/** Polls are bounded by the documented delay plus this much for a loaded machine to catch up. */
const SLACK_MS = 15_000;

async function json(gh: GatehouseDeployment, argv: string[], stdin?: string) {
  const r = await gh.cli([...argv, '--json'], stdin);
  if (r.code !== 0) throw new Error(`gatehouse ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function tokenRequest(server: GatehouseServer, client: { client_id: string; client_secret: string }, params: Record<string, string> = {}) {
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  return fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
}

/** Polls `check` until it returns true; returns the milliseconds it took, or throws after `ms`. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return Math.round(performance.now() - started);
    if (performance.now() - started > ms) throw new Error(`${what}: not seen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function cliVisibility(t: Test, kind: DatabaseKind): Promise<void> {
  const gh = await gatehouseDeployment(t, kind, { env: { KEY_RELOAD_INTERVAL: '1s', ACCOUNT_LOCK_AFTER: '3' } });
  const server = await gh.start();
  const issuer = server.url;

  // Traffic first: an API, a job with tokens, an app with a signed-in user, a signup.
  await json(gh, ['resources', 'create', '--audience', API, '--scope', 'orders:read']);
  const job = await json(gh, ['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API, '--scope', 'orders:read']);
  t.equal((await tokenRequest(server, job)).status, 200, 'the server issues tokens before the CLI runs again');
  const app = await json(gh, ['clients', 'create', '--name', 'app', '--redirect-uri', REDIRECT, '--grant', 'authorization_code', '--scope', 'openid email']);
  const rp = await oidc.discovery(new URL(issuer), app.client_id, app.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const signup = await fetch(`${issuer}/account/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'signed.up@example.com', password: PASSWORD }) });
  t.equal(signup.status, 202);

  // The reverse direction: what the server wrote, the CLI (and sqlite3) see at once.
  const users = await json(gh, ['users', 'list']);
  t.ok(users.some((u: { email: string }) => u.email === 'signed.up@example.com'), 'the CLI lists the user who signed up through the server');
  if (kind === 'sqlite') {
    t.equal(await sqlite3(gh.databaseUrl.slice('file:'.length), "SELECT count(*) FROM users WHERE email = 'signed.up@example.com'"), '1', 'so does sqlite3');
  }

  // users create → the person signs in at once.
  await json(gh, ['users', 'create', 'dana@example.com', '--password-stdin', '--verified'], `${PASSWORD}\n`);
  const login = () => attemptLogin(rp, REDIRECT, new UserAgent(), 'dana@example.com', PASSWORD);
  const first = await login();
  t.equal(first.status, 303, 'a user made by the CLI signs in at once');
  const audit = await json(gh, ['audit', '--type', 'login.succeeded', '--user', 'dana@example.com']);
  t.equal(audit.length, 1, 'and the CLI reads the server\'s audit event at once');

  // users ban / unban → refused at once, let in again at once.
  await json(gh, ['users', 'ban', 'dana@example.com', '--reason', 'visibility test']);
  const banned = await login();
  t.match(banned.body, /This account is disabled/, 'a ban from the CLI refuses the next sign-in');
  await json(gh, ['users', 'unban', 'dana@example.com']);
  t.equal((await login()).status, 303, 'an unban lets the person in at once');

  // users unlock → a locked account (as if attacked from elsewhere) signs in at once.
  for (let i = 0; i < 3; i++) await attemptLogin(rp, REDIRECT, new UserAgent(), 'dana@example.com', `wrong password ${i}`);
  const locked = await login();
  t.not(locked.status, 303, 'three failures lock the account (ACCOUNT_LOCK_AFTER=3 here)');
  await json(gh, ['users', 'unlock', 'dana@example.com']);
  t.equal((await login()).status, 303, 'users unlock lets the owner in at once');

  // clients create / delete → at once.
  const tv = await json(gh, ['clients', 'create', '--name', 'tv', '--public', '--grant', 'urn:ietf:params:oauth:grant-type:device_code', '--scope', 'openid']);
  const device = await fetch(`${issuer}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: tv.client_id, scope: 'openid' }) });
  t.equal(device.status, 200, 'a client made by the CLI is served at once');
  await json(gh, ['clients', 'delete', job.client_id]);
  const gone = await tokenRequest(server, job);
  t.equal(gone.status, 401, 'a deleted client is refused at once');
  t.equal(((await gone.json()) as { error: string }).error, 'invalid_client');

  // resources create / delete → within the 5 s API cache.
  const biller = await json(gh, ['clients', 'create', '--name', 'biller', '--grant', 'client_credentials', '--resource', API, '--scope', 'orders:read']);
  t.equal((await tokenRequest(server, biller, { resource: API2 })).status, 400, 'an unknown API is refused');
  await json(gh, ['resources', 'create', '--audience', API2, '--scope', 'invoices:read']);
  const biller2 = await json(gh, ['clients', 'create', '--name', 'biller2', '--grant', 'client_credentials', '--resource', API2, '--scope', 'invoices:read']);
  const created = await within(5000 + SLACK_MS, 'new API', async () => (await tokenRequest(server, biller2)).status === 200);
  t.pass(`a new API is served within the 5 s cache (${created} ms)`);
  await json(gh, ['clients', 'delete', biller2.client_id]);
  t.equal((await tokenRequest(server, biller2)).status, 401, 'its client, deleted, is refused at once');
  await json(gh, ['resources', 'delete', API2]);
  t.notOk((await json(gh, ['resources', 'list'])).some((r: { audience: string }) => r.audience === API2), 'and the API can then be deleted');

  // ips ban / unban → within the 2 s IP-ban cache. The test itself is 127.0.0.1.
  await json(gh, ['ips', 'ban', '127.0.0.1', '--for', '10m']);
  const blocked = await within(2000 + SLACK_MS, 'IP ban', async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).status === 403);
  t.pass(`an IP ban reaches the server within the 2 s cache (${blocked} ms)`);
  await json(gh, ['ips', 'unban', '127.0.0.1']);
  const open = await within(2000 + SLACK_MS, 'IP unban', async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).status === 200);
  t.pass(`an unban too (${open} ms)`);

  // keys rotate --now / revoke → within one KEY_RELOAD_INTERVAL.
  const kidsServed = async () => ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const before = await json(gh, ['keys', 'list']);
  await json(gh, ['keys', 'rotate', '--now']);
  const after: { kid: string; alg: string; state: string }[] = await json(gh, ['keys', 'list']);
  const fresh = after.filter((k) => !before.some((b: { kid: string }) => b.kid === k.kid));
  t.equal(fresh.length, 2, 'rotate --now makes a new ES256 and RS256 key');
  const rotated = await within(1000 + SLACK_MS, 'rotation', async () => {
    const res = await tokenRequest(server, biller);
    if (res.status !== 200) return false;
    const { access_token } = (await res.json()) as { access_token: string };
    const kid = JSON.parse(Buffer.from(access_token.split('.')[0]!, 'base64url').toString()).kid;
    return fresh.some((k) => k.kid === kid);
  });
  t.pass(`the server signs with the new key within the reload interval (${rotated} ms)`);
  const old = after.find((k) => k.state === 'retired' && k.alg === 'ES256')!;
  t.ok((await kidsServed()).includes(old.kid), 'the retired key is still published');
  await json(gh, ['keys', 'revoke', old.kid]);
  const revoked = await within(1000 + SLACK_MS, 'revocation', async () => !(await kidsServed()).includes(old.kid));
  t.pass(`a revoked key leaves the JWKS within the reload interval (${revoked} ms)`);
  const pruned = await json(gh, ['keys', 'prune']);
  t.ok(pruned.pruned.includes(old.kid), 'keys prune deletes the revoked key beside the server');
  t.equal((await tokenRequest(server, biller)).status, 200, 'and the server keeps issuing tokens');

  // migrate beside a running server: nothing to apply, nothing disturbed.
  const migrated = await json(gh, ['migrate']);
  t.same(migrated.applied, [], 'migrate beside the server applies nothing');
  t.equal((await fetch(`${issuer}/readyz`)).status, 200);

  // The outbox shows the server read the CLI-made user at once: a reset mail, not silence.
  await fetch(`${issuer}/account/password/forgot`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'dana@example.com' }) });
  // The mail is sent after the answer (so that the answer's timing says nothing): poll the outbox.
  await within(SLACK_MS, 'reset mail', async () => (await readOutbox(gh.dataDir)).some((m) => m.to === 'dana@example.com'));
  t.pass('a reset mail goes to the user the CLI made');

  t.equal(await server.stop(), 0);
}
