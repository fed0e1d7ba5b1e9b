import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/build-app.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { relyingParty } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';
import * as oidc from 'openid-client';

/**
 * The account page's JSON API (/account/me and the POSTs beside it), over real HTTP on loopback, as a
 * script would use it: sign in through the sign-in pages with a cookie jar, then JSON with the
 * session's csrf token.
 */
async function signIn(gh: TestApp, ua: UserAgent, email: string, password = PASSWORD) {
  const login = await ua.follow(`${gh.issuer}/account`);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)?.[1];
  if (!uid) throw new Error(`no login page at ${login.url}: ${login.status}`);
  const posted = await ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf: hiddenField(login.body, 'csrf'), email, password } });
  if (posted.status !== 303) throw new Error(`login answered ${posted.status}`);
  return ua.follow(posted.location!);
}

async function api(ua: UserAgent, url: string, body?: unknown) {
  const res = await ua.request(url, { headers: { accept: 'application/json' }, ...(body === undefined ? {} : { json: body }) });
  return { status: res.status, json: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

/** Tokens of a third-party app for the account, with a refresh token (offline_access). */
async function appTokens(t: Test, gh: TestApp, ua: UserAgent) {
  const redirectUri = 'http://127.0.0.1:9/cb';
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [redirectUri], grants: ['authorization_code', 'refresh_token'] });
  const config = await relyingParty(gh, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  let step = await ua.follow(url.href, redirectUri);
  if (!step.location?.startsWith(redirectUri)) {
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(step.url)![1]!;
    const confirmed = await ua.request(`${gh.issuer}/interaction/${uid}/confirm`, { form: { csrf: hiddenField(step.body, 'csrf'), remember: 'yes' } });
    step = await ua.follow(confirmed.location!, redirectUri);
  }
  t.match(step.location, redirectUri, 'the app got its code');
  const tokens = await oidc.authorizationCodeGrant(config, new URL(step.location!), { pkceCodeVerifier: verifier, expectedState: state });
  return { config, client, tokens };
}

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: signed out: /account/me is 401 login_required; /account starts a sign-in of our own client`, async (t) => {
    const gh = await buildTestApp(t, { listen: true, kind });
    const ua = new UserAgent();
    const me = await api(ua, `${gh.issuer}/account/me`);
    t.equal(me.status, 401);
    t.equal(me.json.error, 'login_required');
    const start = await ua.request(`${gh.issuer}/account`);
    t.equal(start.status, 303);
    t.match(start.location, `${gh.issuer}/auth?client_id=gatehouse-account`);
    const post = await api(ua, `${gh.issuer}/account/sign-out-everywhere`, { csrf: 'x' });
    t.same([post.status, post.json.error], [401, 'login_required']);
  });

  t.test(`${kind}: overview, change password (other sessions and refresh tokens revoked, this one kept), audit`, async (t) => {
    const gh = await buildTestApp(t, { listen: true, kind });
    await createVerifiedUser(gh.services, 'ana@example.com', PASSWORD);
    const here = new UserAgent();
    const page = await signIn(gh, here, 'ana@example.com');
    t.equal(page.status, 200);
    t.match(page.body, /<h1>Your account<\/h1>/);
    t.notMatch(page.body, /Allow/, 'no consent asked for the account page');

    const elsewhere = new UserAgent();
    await signIn(gh, elsewhere, 'ana@example.com');
    const app = await appTokens(t, gh, elsewhere);
    t.ok(app.tokens.refresh_token, 'the app has a refresh token');

    const me = await api(here, `${gh.issuer}/account/me`);
    t.equal(me.status, 200);
    t.equal(me.json.email, 'ana@example.com');
    t.equal(me.json.sessions.length, 2, 'two browser sessions');
    t.equal(me.json.sessions.filter((s: { current: boolean }) => s.current).length, 1, 'one is this one');
    t.same(me.json.apps.map((a: { name: string }) => a.name), ['Demo Shop'], 'the connected app (not the account page itself)');
    t.same(me.json.apps[0].scopes.sort(), ['email', 'offline_access', 'openid']);
    t.same(me.json.second_factors, { authenticator_app: 'none', recovery_codes_left: 0, passkeys: [] }, 'no second factor yet');

    // With an authenticator app, recovery codes and a passkey, /account/me lists them (never a secret).
    const ana = (await gh.services.users.findByEmail('ana@example.com'))!;
    const factorsAt = new Date('2031-01-02T03:04:05.000Z');
    await gh.services.secondFactors.mfa.startTotp({ userId: ana.id, secret: 'sealed-secret', createdAt: factorsAt });
    await gh.services.secondFactors.mfa.confirmTotp(ana.id, 1, factorsAt);
    await gh.services.secondFactors.mfa.replaceRecoveryCodes(ana.id, ['hash-1', 'hash-2', 'hash-3'], factorsAt);
    await gh.services.passkeys.insert({
      id: 'credential-1', userId: ana.id, name: 'Laptop', publicKey: 'cose-public-key-bytes', counter: 0, transports: ['internal'], deviceType: 'multiDevice', backedUp: true, createdAt: factorsAt, lastUsedAt: null,
    });
    const withFactors = await api(here, `${gh.issuer}/account/me`);
    t.same(withFactors.json.second_factors, {
      authenticator_app: 'enabled',
      recovery_codes_left: 3,
      passkeys: [{ id: 'credential-1', name: 'Laptop', synced: true, created_at: factorsAt.toISOString(), last_used_at: null }],
    });
    t.notMatch(JSON.stringify(withFactors.json), /sealed-secret|hash-1|cose-public-key/, 'no secret, hash or key in it');
    await gh.services.secondFactors.mfa.deleteTotp(ana.id);
    await gh.services.secondFactors.mfa.deleteRecoveryCodes(ana.id);
    await gh.services.passkeys.removeAll(ana.id);

    // Bad input.
    const noCsrf = await api(here, `${gh.issuer}/account/password`, { csrf: 'forged', current_password: PASSWORD, new_password: 'a brand new passphrase' });
    t.same([noCsrf.status, noCsrf.json.error], [403, 'access_denied'], 'a wrong csrf token is refused');
    const extra = await api(here, `${gh.issuer}/account/password`, { csrf: me.json.csrf, current_password: PASSWORD, new_password: 'x', admin: true });
    t.same([extra.status, extra.json.error], [400, 'invalid_request'], 'an unexpected field is refused');
    const empty = await api(here, `${gh.issuer}/account/password`, { csrf: me.json.csrf, current_password: '', new_password: '' });
    t.same([empty.status, empty.json.field, empty.json.reason], [400, 'current_password', 'missing'], 'the current password first');
    const weak = await api(here, `${gh.issuer}/account/password`, { csrf: me.json.csrf, current_password: PASSWORD, new_password: 'short' });
    t.same([weak.status, weak.json.field, weak.json.reason], [400, 'new_password', 'too_short']);
    const wrong = await api(here, `${gh.issuer}/account/password`, { csrf: me.json.csrf, current_password: 'not my password', new_password: 'a brand new passphrase' });
    t.same([wrong.status, wrong.json.field, wrong.json.reason], [400, 'current_password', 'incorrect'], 'the current password is required');

    const changed = await api(here, `${gh.issuer}/account/password`, { csrf: me.json.csrf, current_password: PASSWORD, new_password: 'a brand new passphrase' });
    t.equal(changed.status, 200);
    t.ok(changed.json.revoked >= 2, 'the other session and the grant went');
    const after = await api(here, `${gh.issuer}/account/me`);
    t.equal(after.status, 200, 'this browser stays signed in');
    t.equal(after.json.sessions.length, 1);
    t.same(after.json.apps, [], 'no app is connected any more');
    t.equal((await api(elsewhere, `${gh.issuer}/account/me`)).status, 401, 'the other browser is signed out');
    await t.rejects(oidc.refreshTokenGrant(app.config, app.tokens.refresh_token!), { error: 'invalid_grant' } as never, 'the refresh token is revoked');
    await gh.services.background.idle();
    t.equal((await lastMailTo(gh.config.dataDir, 'ana@example.com')).subject, 'Your password was changed');
    const audit = await gh.services.auditStore.query({ type: 'password.changed', limit: 5 });
    t.equal(audit.length, 1, 'audited');
  });

  t.test(`${kind}: change email: link to the new address, notice to the old, effective on confirmation`, async (t) => {
    const gh = await buildTestApp(t, { listen: true, kind });
    await createVerifiedUser(gh.services, 'bo@example.com', PASSWORD);
    await createVerifiedUser(gh.services, 'taken@example.com', PASSWORD);
    const ua = new UserAgent();
    await signIn(gh, ua, 'bo@example.com');
    const { csrf } = (await api(ua, `${gh.issuer}/account/me`)).json;

    const same = await api(ua, `${gh.issuer}/account/email`, { csrf, email: 'BO@example.com', password: PASSWORD });
    t.same([same.status, same.json.field, same.json.reason], [400, 'email', 'unchanged']);
    const malformed = await api(ua, `${gh.issuer}/account/email`, { csrf, email: 'nope', password: PASSWORD });
    t.same([malformed.status, malformed.json.field], [400, 'email']);
    const noPassword = await api(ua, `${gh.issuer}/account/email`, { csrf, email: 'new@example.com', password: 'wrong password here' });
    t.same([noPassword.status, noPassword.json.field], [400, 'current_password'], 'the password is required');

    const asked = await api(ua, `${gh.issuer}/account/email`, { csrf, email: 'New@Example.com', password: PASSWORD });
    t.equal(asked.status, 202);
    await gh.services.background.idle();
    const link = await lastMailTo(gh.config.dataDir, 'new@example.com');
    t.equal(link.subject, 'Confirm your new email address');
    t.match(link.link, `${gh.issuer}/account/email/confirm?token=`);
    t.equal((await lastMailTo(gh.config.dataDir, 'bo@example.com')).subject, 'A change of your email address was requested', 'the old address is told');
    t.equal((await gh.services.users.findByEmail('bo@example.com'))?.email, 'bo@example.com', 'nothing changed yet');

    // A taken address: the same answer, a notice to it, no link.
    const taken = await api(ua, `${gh.issuer}/account/email`, { csrf, email: 'taken@example.com', password: PASSWORD });
    t.equal(taken.status, 202, 'the same answer for a taken address');
    await gh.services.background.idle();
    t.equal((await lastMailTo(gh.config.dataDir, 'taken@example.com')).subject, 'This address already has an account');

    const token = new URL(link.link!).searchParams.get('token')!;
    const opened = await ua.request(link.link!);
    t.equal(opened.status, 200, 'opening the link shows a button');
    t.equal((await gh.services.users.findByEmail('new@example.com')), undefined, 'opening the link changed nothing');
    const confirmed = await ua.request(`${gh.issuer}/account/email/confirm`, { json: { token } });
    t.equal(confirmed.status, 204);
    const moved = await gh.services.users.findByEmail('new@example.com');
    t.ok(moved?.emailVerifiedAt, 'the new address is the account’s, confirmed');
    const again = await ua.request(`${gh.issuer}/account/email/confirm`, { json: { token } });
    t.same([again.status, JSON.parse(again.body).error], [400, 'token_used'], 'the link works once');
    t.equal((await api(ua, `${gh.issuer}/account/me`)).json.email, 'new@example.com', 'the session stays signed in with the new address');
    t.equal((await gh.services.auditStore.query({ type: 'email.changed', limit: 5 })).length, 1);
  });

  t.test(`${kind}: end a session, disconnect an app, sign out everywhere; each audited`, async (t) => {
    const gh = await buildTestApp(t, { listen: true, kind });
    await createVerifiedUser(gh.services, 'cy@example.com', PASSWORD);
    const here = new UserAgent();
    const other = new UserAgent();
    await signIn(gh, here, 'cy@example.com');
    await signIn(gh, other, 'cy@example.com');
    const app = await appTokens(t, gh, here);
    const me = (await api(here, `${gh.issuer}/account/me`)).json;

    const unknown = await api(here, `${gh.issuer}/account/sessions/nope/end`, { csrf: me.csrf });
    t.same([unknown.status, unknown.json.error], [404, 'not_found'], 'a session that is not yours');
    const otherId = me.sessions.find((s: { current: boolean }) => !s.current).id;
    t.equal((await api(here, `${gh.issuer}/account/sessions/${otherId}/end`, { csrf: me.csrf })).status, 204);
    t.equal((await api(other, `${gh.issuer}/account/me`)).status, 401, 'that browser is signed out');

    const notConnected = await api(here, `${gh.issuer}/account/apps/no-such-app/disconnect`, { csrf: me.csrf });
    t.same([notConnected.status, notConnected.json.error], [404, 'not_found']);
    t.equal((await api(here, `${gh.issuer}/account/apps/${app.client.client_id}/disconnect`, { csrf: me.csrf })).status, 204);
    await t.rejects(oidc.refreshTokenGrant(app.config, app.tokens.refresh_token!), { error: 'invalid_grant' } as never, "the app's refresh token is revoked");
    t.same((await api(here, `${gh.issuer}/account/me`)).json.apps, []);

    const everywhere = await api(here, `${gh.issuer}/account/sign-out-everywhere`, { csrf: me.csrf });
    t.equal(everywhere.status, 200);
    t.equal((await api(here, `${gh.issuer}/account/me`)).status, 401, 'this browser too');
    for (const type of ['session.ended', 'app.disconnected', 'account.signed_out_everywhere'] as const) {
      t.equal((await gh.services.auditStore.query({ type, limit: 5 })).length, 1, `${type} audited`);
    }
    const metrics = (await gh.app.inject({ url: '/metrics' })).body;
    for (const event of ['session_ended', 'app_disconnected', 'signed_out_everywhere']) {
      t.match(metrics, `gatehouse_account_events_total{event="${event}"} 1`, `${event} counted`);
    }
  });

  t.test(`${kind}: delete the account: password required, throttled like a sign-in, then everything goes`, async (t) => {
    const gh = await buildTestApp(t, { listen: true, kind });
    const user = await createVerifiedUser(gh.services, 'di@example.com', PASSWORD);
    const ua = new UserAgent();
    await signIn(gh, ua, 'di@example.com');
    const app = await appTokens(t, gh, ua);
    const { csrf } = (await api(ua, `${gh.issuer}/account/me`)).json;

    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await api(ua, `${gh.issuer}/account/delete`, { csrf, password: `wrong password ${i}` })).status);
    t.same(statuses.slice(0, 5), [400, 400, 400, 400, 400], 'wrong passwords are refused');
    const throttled = await api(ua, `${gh.issuer}/account/delete`, { csrf, password: PASSWORD });
    t.same([throttled.status, throttled.json.error], [429, 'too_many_requests'], 'the login guard throttles the password checks');
    t.ok(Number(throttled.headers.get('retry-after')) > 0, 'with Retry-After');
    t.ok(await gh.services.users.findByEmail('di@example.com'), 'nothing deleted');

    // The wait ends (as time would end it): the counters go.
    await gh.db.prisma.attemptCounter.deleteMany({});
    const deleted = await api(ua, `${gh.issuer}/account/delete`, { csrf, password: PASSWORD });
    t.equal(deleted.status, 204);
    t.equal(await gh.services.users.findByEmail('di@example.com'), undefined, 'the account is gone');
    t.same(await gh.services.oidcStore.listByAccountId(user.id, ['Session', 'Grant', 'RefreshToken', 'AccessToken']), [], 'no session, grant or token is left');
    await t.rejects(oidc.refreshTokenGrant(app.config, app.tokens.refresh_token!), { error: 'invalid_grant' } as never);
    t.equal((await api(ua, `${gh.issuer}/account/me`)).status, 401);
    const audit = await gh.services.auditStore.query({ type: 'account.deleted', limit: 5 });
    t.same(audit.map((e) => e.email), ['di@example.com'], 'audited');
    await gh.services.background.idle();
    t.equal((await lastMailTo(gh.config.dataDir, 'di@example.com')).subject, 'Your account was deleted');
  });
}

t.test('the page’s forms: signed out, a forged form and bad input each answer a page that leads on', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await createVerifiedUser(gh.services, 'forms@example.com', PASSWORD);
  const ua = new UserAgent();
  const signedOut = await ua.request(`${gh.issuer}/account/delete`, { form: { csrf: 'x', password: PASSWORD } });
  t.equal(signedOut.status, 401);
  t.match(signedOut.body, /<a class="button" href="\/account">Sign in again<\/a>/);

  const page = await signIn(gh, ua, 'forms@example.com');
  const forged = await ua.request(`${gh.issuer}/account/delete`, { form: { csrf: 'forged', password: PASSWORD } });
  t.equal(forged.status, 403);
  t.match(forged.body, /href="\/account"/, 'back to the account page');
  t.ok(await gh.services.users.findByEmail('forms@example.com'), 'nothing deleted');

  const extra = await ua.request(`${gh.issuer}/account/password`, { form: { csrf: hiddenField(page.body, 'csrf'), current_password: PASSWORD, new_password: 'x', admin: 'yes' } });
  t.equal(extra.status, 400);
  t.match(extra.body, /href="\/account"/, 'a malformed form leads back too');

  const weak = await ua.request(`${gh.issuer}/account/password`, { form: { csrf: hiddenField(page.body, 'csrf'), current_password: PASSWORD, new_password: 'short' } });
  t.equal(weak.status, 400);
  t.match(weak.body, /<p class="error" role="alert" id="password-error">The password must be at least 8 characters long.<\/p>/, 'the reason in its section');
  t.match(weak.body, /aria-describedby="new-password-hint password-error"/, 'tied to the field');
});
