import * as oidc from 'openid-client';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const REDIRECT = 'https://app.example.com/callback';

/**
 * A reset ends everything the account had: the refresh tokens two apps hold stop working, the
 * browser session is gone, and only the new password signs in.
 */
t.test('after a password reset the old refresh tokens and sessions are dead', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const user = await createVerifiedUser(gh.services, 'pat@example.com', PASSWORD);
  const clients = await Promise.all(
    ['Mail', 'Calendar'].map((name) => registerClient(gh.services, { name, redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'] })),
  );
  const browser = new UserAgent();
  const tokens: { config: oidc.Configuration; refresh: string }[] = [];
  for (const client of clients) {
    const config = await relyingParty(gh, client);
    const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
    const callback = await signIn(browser, start.url, REDIRECT, 'pat@example.com', PASSWORD);
    const got = await oidc.authorizationCodeGrant(config, new URL(callback.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state });
    tokens.push({ config, refresh: got.refresh_token! });
  }
  // The refresh tokens work before the reset (and rotate).
  for (const entry of tokens) entry.refresh = (await oidc.refreshTokenGrant(entry.config, entry.refresh)).refresh_token!;

  // Forgot password, through the pages as a person would.
  const forgot = await browser.request(`${gh.issuer}/account/password/forgot`);
  t.equal(forgot.status, 200);
  const sent = await browser.request(`${gh.issuer}/account/password/forgot`, { form: { email: 'pat@example.com' } });
  t.equal(sent.status, 200);
  await gh.services.background.idle();
  const mail = await lastMailTo(gh.config.dataDir, 'pat@example.com');
  t.equal(mail.subject, 'Reset your password');
  const page = await browser.request(mail.link!);
  t.equal(page.status, 200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const token = new URL(mail.link!).searchParams.get('token')!;
  const done = await browser.request(`${gh.issuer}/account/password/reset`, { form: { token, csrf, password: 'an entirely new passphrase' } });
  t.equal(done.status, 200);
  t.match(done.body, /Password changed/);

  for (const entry of tokens) {
    await t.rejects(oidc.refreshTokenGrant(entry.config, entry.refresh), { name: 'ResponseBodyError', error: 'invalid_grant' }, 'the refresh token is dead');
  }
  t.equal(await gh.db.prisma.oidcPayload.count({ where: { accountId: user.id } }), 0, 'no session, grant or token of the account is left');

  // The browser session is gone too: the next sign-in asks for the password, and only the new one works.
  const config = tokens[0]!.config;
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  await t.rejects(signIn(new UserAgent(), start.url, REDIRECT, 'pat@example.com', PASSWORD), /sign-in did not reach|unexpected 401/, 'the old password fails');
  const again = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  const first = await browser.follow(again.url.href, REDIRECT);
  t.match(first.body, /name="password"/, 'the old session no longer signs the browser in');
  const callback = await signIn(browser, again.url, REDIRECT, 'pat@example.com', 'an entirely new passphrase');
  const fresh = await oidc.authorizationCodeGrant(config, new URL(callback.location!), { pkceCodeVerifier: again.verifier, expectedState: again.state });
  t.ok(fresh.refresh_token, 'the new password signs in and gets new tokens');

  const audit = await gh.services.auditStore.query({ type: 'password.reset', limit: 5 });
  t.equal(audit.length, 1);
  t.ok((audit[0]!.detail.revoked as number) > 0, 'the audit event says what was revoked');
});

t.test('two concurrent resets with one link: one wins, the other is told the link was used', async (t) => {
  const gh = await buildTestApp(t);
  await createVerifiedUser(gh.services, 'duo@example.com', PASSWORD);
  await gh.app.inject({ method: 'POST', url: '/account/password/forgot', payload: { email: 'duo@example.com' } });
  await gh.services.background.idle();
  const token = new URL((await lastMailTo(gh.config.dataDir, 'duo@example.com')).link!).searchParams.get('token')!;
  const [a, b] = await Promise.all(
    ['first new passphrase', 'second new passphrase'].map((password) => gh.app.inject({ method: 'POST', url: '/account/password/reset', payload: { token, password } })),
  );
  t.same([a!.statusCode, b!.statusCode].sort(), [204, 400]);
  const loser = a!.statusCode === 400 ? a! : b!;
  t.equal(loser.json().error, 'token_used');
  const winner = a!.statusCode === 204 ? 'first new passphrase' : 'second new passphrase';
  const stored = await gh.services.users.findByEmail('duo@example.com');
  t.ok(await gh.services.hasher.verify(stored!.passwordHash!, winner), "the winner's password is the one stored");
});
