import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

/**
 * With PostgreSQL out of reach, every surface fails closed and says so: 503 with Retry-After, JSON
 * for machines and a readable page for people, never a 500; nothing is half-written (the code and
 * the refresh token presented during the outage work afterwards); and service comes back by itself.
 */
const REDIRECT = 'https://app.example.com/callback';
const API = 'https://orders.example.com';

t.test('a database outage: 503 with Retry-After on every surface, then everything works again', async (t) => {
  const database = await createTestDatabase(t, 'postgres');
  const url = new URL(database.url);
  const proxy = await startTcpProxy(t, { host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  const gh = await buildTestApp(t, { databaseUrl: url.href, listen: true });
  const s = gh.services;

  await registerApi(s, API, 'orders:read');
  const web = await registerClient(s, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'], resources: [API] });
  const job = await registerClient(s, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const ops = await registerClient(s, { name: 'ops', grants: ['client_credentials'], resources: [`${gh.issuer}/admin`], scope: 'gatehouse:admin' });
  await createVerifiedUser(s, 'alice@example.com', PASSWORD);
  const webAuth = basic(web.client_id, web.client_secret!);
  const config = await relyingParty(gh, web);
  const signInCode = async () => {
    const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
    const step = await signIn(new UserAgent(), start.url, REDIRECT, 'alice@example.com', PASSWORD);
    return { code: new URL(step.location!).searchParams.get('code')!, verifier: start.verifier };
  };
  const redeem = (c: { code: string; verifier: string }) =>
    postForm(`${gh.issuer}/token`, { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT }, webAuth);
  const refresh = (token: string) => postForm(`${gh.issuer}/token`, { grant_type: 'refresh_token', refresh_token: token }, webAuth);
  const clientCredentials = () => postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, job.client_secret!));
  const admin = (token: string) => fetch(`${gh.issuer}/admin/users`, { headers: { authorization: `Bearer ${token}` } });
  const signup = () =>
    fetch(`${gh.issuer}/account/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'new@example.com', password: PASSWORD }) });

  // Before the outage: a refresh token, an unredeemed code, an admin token, a login page open.
  const refreshToken = String((await redeem(await signInCode())).json.refresh_token);
  const pendingCode = await signInCode();
  const adminToken = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!))).json.access_token);
  const browser = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  const loginPage = await browser.follow(start.url.href, REDIRECT);
  t.equal(loginPage.status, 200, 'a login page is open');

  await proxy.cut();
  const json503 = async (what: string, res: { status: number; headers: Headers; text: string }) => {
    t.equal(res.status, 503, `${what}: 503`);
    t.ok(Number(res.headers.get('retry-after')) > 0, `${what}: Retry-After`);
    t.equal(JSON.parse(res.text).error, 'temporarily_unavailable', `${what}: temporarily_unavailable`);
  };
  const page503 = (what: string, res: { status: number; headers: Headers; body: string }) => {
    t.equal(res.status, 503, `${what}: 503`);
    t.ok(Number(res.headers.get('retry-after')) > 0, `${what}: Retry-After`);
    t.match(res.headers.get('content-type'), /text\/html/, `${what}: a page`);
    t.match(res.body, /briefly unavailable/, `${what}: that says to try again`);
  };
  const text = async (res: Response) => ({ status: res.status, headers: res.headers, text: await res.text() });

  await json503('token, client credentials', await clientCredentials());
  await json503('token, refresh', await refresh(refreshToken));
  await json503('token, code', await redeem(pendingCode));
  await json503('account API', await text(await signup()));
  await json503('admin API', await text(await admin(adminToken)));
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(loginPage.url)![1]!;
  page503('login page', await browser.request(`${gh.issuer}/interaction/${uid}`));
  page503(
    'login form',
    await browser.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf: hiddenField(loginPage.body, 'csrf'), email: 'alice@example.com', password: PASSWORD } }),
  );
  page503('authorization endpoint', await new UserAgent().request(start.url.href));

  await proxy.restore();
  // The pool reconnects on the next request; no restart.
  let cc = await clientCredentials();
  for (let i = 0; i < 20 && cc.status !== 200; i++) cc = await clientCredentials();
  t.equal(cc.status, 200, 'client credentials work again');
  const redeemed = await redeem(pendingCode);
  t.equal(redeemed.status, 200, 'the code presented during the outage was not burned');
  const rotated = await refresh(refreshToken);
  t.equal(rotated.status, 200, 'the refresh token presented during the outage still rotates');
  t.equal((await admin(adminToken)).status, 200, 'the admin API answers');
  t.equal((await signup()).status, 202, 'signup works');
  const resumed = await browser.follow(`${gh.issuer}/interaction/${uid}/login`, REDIRECT, {
    form: { csrf: hiddenField(loginPage.body, 'csrf'), email: 'alice@example.com', password: PASSWORD },
  });
  t.ok(resumed.status === 200 || resumed.location?.startsWith(REDIRECT), 'the open login page continues');
  const reuse = await s.auditStore.query({ type: 'refresh.reuse_detected', limit: 5 });
  t.same(reuse, [], 'no false reuse detected');
});
