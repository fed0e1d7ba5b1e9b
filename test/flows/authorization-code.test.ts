import * as jose from 'jose';
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { UserAgent, hiddenField } from '../helpers/user-agent.ts';

const API = 'https://orders.example.com';
const REDIRECT = 'https://app.example.com/callback';
const AFTER_LOGOUT = 'https://app.example.com/bye';

async function setup(t: Test, clientInput: Record<string, unknown> = {}) {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, API, 'orders:read orders:write');
  const client = await registerClient(gh.services, {
    name: 'Shop',
    redirectUris: [REDIRECT],
    postLogoutRedirectUris: [AFTER_LOGOUT],
    grants: ['authorization_code', 'refresh_token'],
    resources: [API],
    ...clientInput,
  });
  const user = await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
  const config = await relyingParty(gh, client);
  return { gh, client, user, config };
}

t.test('authorization code + PKCE end to end: login, consent, token, userinfo, refresh, logout', async (t) => {
  const { gh, user, config } = await setup(t);
  const ua = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  const callback = await signIn(ua, start.url, REDIRECT, 'Alice@Example.com ', PASSWORD);
  t.equal(callback.status, 303, 'the consent form redirects with 303');
  const back = new URL(callback.location!);
  t.equal(back.searchParams.get('iss'), gh.issuer, 'RFC 9207 iss in the authorization response');

  const tokens = await oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: start.verifier, expectedState: start.state });
  const claims = tokens.claims()!;
  t.equal(claims.sub, user.id);
  t.equal(claims.email, 'alice@example.com');
  t.equal(claims.email_verified, true);
  t.ok(tokens.refresh_token, 'offline_access + refresh_token grant → a refresh token');
  const idHeader = jose.decodeProtectedHeader(tokens.id_token!);
  t.equal(idHeader.alg, 'RS256', 'ID tokens are RS256 by default');

  const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
  t.equal(info.email, 'alice@example.com');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.ok(refreshed.refresh_token);
  t.not(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');

  // RP-initiated logout with a confirmation page, back to the registered post-logout URI.
  const logout = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye' });
  const confirm = await ua.follow(logout.href);
  t.equal(confirm.status, 200);
  t.match(confirm.body, /Sign out/);
  t.match(
    confirm.headers.get('content-security-policy'),
    /form-action 'self' https:\/\/app\.example\.com;/,
    'the logout form may end at the registered post-logout origin, and nowhere else',
  );
  t.equal(confirm.headers.get('x-frame-options'), 'DENY');
  const action = /action="([^"]+)"/.exec(confirm.body)![1]!;
  const done = await ua.request(new URL(action, gh.issuer).href, { form: { xsrf: hiddenField(confirm.body, 'xsrf'), logout: 'yes' } });
  t.equal(done.status, 303);
  t.match(done.location, /^https:\/\/app\.example\.com\/bye\?state=bye/);

  // The session is gone: the next authorization asks for a login again.
  const again = await startAuthorization(config, { redirect_uri: REDIRECT });
  const page = await ua.follow(again.url.href, REDIRECT);
  t.match(page.body, /name="password"/, 'logged out: the login form again');
});

t.test('with resource=<API> the access token is an RFC 9068 JWT for that API', async (t) => {
  const { gh, config } = await setup(t);
  const ua = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid orders:read', resource: API });
  const callback = await signIn(ua, start.url, REDIRECT, 'alice@example.com', PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state }, { resource: API });
  const jwks = jose.createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
  const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt', algorithms: ['ES256'] });
  t.equal(payload.scope, 'orders:read');
  t.equal(payload.exp! - payload.iat!, gh.config.accessTokenTtl);
});

t.test('a wrong password shows one generic message, keeps the email, and does not redirect', async (t) => {
  const { config } = await setup(t);
  const ua = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: REDIRECT });
  const login = await ua.follow(start.url.href, REDIRECT);
  t.match(
    login.headers.get('content-security-policy'),
    /form-action 'self' https:\/\/app\.example\.com;/,
    "the login form may end (after our redirects) at the app's redirect_uri origin, and nowhere else",
  );
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
  const base = new URL(login.url).origin;
  const wrong = await ua.request(`${base}/interaction/${uid}/login`, { form: { csrf: hiddenField(login.body, 'csrf'), email: 'alice@example.com', password: 'not my password' } });
  const unknown = await ua.request(`${base}/interaction/${uid}/login`, { form: { csrf: hiddenField(login.body, 'csrf'), email: 'nobody@example.com', password: 'not my password' } });
  for (const res of [wrong, unknown]) {
    t.equal(res.status, 401);
    t.equal(res.location, undefined, 'no redirect');
    t.match(res.body, /The email or password is not correct\./);
  }
  t.match(wrong.body, /value="alice@example\.com"/, 'the typed email is kept');
  const forged = await ua.request(`${base}/interaction/${uid}/login`, { form: { csrf: 'forged', email: 'alice@example.com', password: PASSWORD } });
  t.equal(forged.status, 403, 'a form without the page token is refused');
});

t.test('PKCE is required (S256 only) and the verifier must match', async (t) => {
  const { config } = await setup(t);
  const ua = new UserAgent();
  const noPkce = new URL(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's' }));
  const r1 = await ua.request(noPkce.href);
  t.equal(r1.status, 303);
  t.equal(new URL(r1.location!).searchParams.get('error'), 'invalid_request');
  t.match(new URL(r1.location!).searchParams.get('error_description'), /PKCE/);

  const plain = new URL(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's', code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }));
  const r2 = await ua.request(plain.href);
  t.equal(new URL(r2.location!).searchParams.get('error'), 'invalid_request', 'plain is rejected');

  const start = await startAuthorization(config, { redirect_uri: REDIRECT });
  const callback = await signIn(ua, start.url, REDIRECT, 'alice@example.com', PASSWORD);
  const failure = await oidc
    .authorizationCodeGrant(config, new URL(callback.location!), { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: start.state })
    .then(() => undefined, (err: { error?: string }) => err);
  t.equal(failure?.error, 'invalid_grant', 'a wrong verifier fails');
});

t.test('unregistered redirect URI: an error page, never a redirect; response_type=token refused', async (t) => {
  const { gh, client } = await setup(t);
  const ua = new UserAgent();
  const evil = `${gh.issuer}/auth?client_id=${client.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://evil.example.com/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`;
  const r = await ua.request(evil);
  t.equal(r.status, 400);
  t.equal(r.location, undefined, 'no open redirect');
  t.match(r.headers.get('content-type'), /text\/html/);
  t.match(r.body, /not registered/);

  const unknownClient = await ua.request(`${gh.issuer}/auth?client_id=nope&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`);
  t.equal(unknownClient.status, 400);
  t.equal(unknownClient.location, undefined);

  const implicit = await ua.request(`${gh.issuer}/auth?client_id=${client.client_id}&response_type=token&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`);
  // The error goes back to the (registered) redirect URI, in the fragment as for any token response type.
  const fragment = new URLSearchParams(new URL(implicit.location!).hash.slice(1));
  t.ok(implicit.location!.startsWith(REDIRECT));
  t.equal(fragment.get('error'), 'unsupported_response_type');
  t.notOk(fragment.get('access_token'), 'no token');
});

t.test('response_mode=form_post: the auto-submitting page may post to the app, and nowhere else', async (t) => {
  const { config } = await setup(t);
  const ua = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, response_mode: 'form_post' });
  let step = await ua.follow(start.url.href, REDIRECT);
  for (let i = 0; i < 3 && !step.body.includes(`action="${REDIRECT}"`); i++) {
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(step.url)![1]!;
    const base = new URL(step.url).origin;
    const csrf = hiddenField(step.body, 'csrf');
    step = step.body.includes('name="password"')
      ? await ua.follow(`${base}/interaction/${uid}/login`, REDIRECT, { form: { csrf, email: 'alice@example.com', password: PASSWORD } })
      : await ua.follow(`${base}/interaction/${uid}/confirm`, REDIRECT, { form: { csrf } });
  }
  t.equal(step.status, 200);
  t.match(step.body, new RegExp(`<form method="post" action="${REDIRECT}">`), 'the form_post page');
  t.match(step.body, /name="code"/);
  const csp = step.headers.get('content-security-policy') ?? '';
  t.match(csp, /form-action 'self' https:\/\/app\.example\.com(;|$)/, 'its form may reach the app origin');
  t.match(csp, /script-src 'self' 'sha256-/, "the engine's script hash survived");
});
