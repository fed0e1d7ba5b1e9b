import { inspect } from 'node:util';
import * as oidc from 'openid-client';
import t from 'tap';
import { Secret, TOTP } from 'otpauth';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/accounts/mfa/second-factors.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';
import { softAuthenticator, type SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

/**
 * A passkey as the second factor after the password, over HTTP with a software authenticator: an
 * account with an authenticator app and a passkey may use the passkey at the second step (a passkey
 * alone adds no step); the challenge is for its own passkeys only; the right answer ends the sign-in with amr [pwd, hwk, user, mfa] and acr mfa; another
 * account's passkey, a replayed answer, a forged signature or a forged step note get a readable 4xx
 * and sign nobody in; and `users mfa reset` (the admin use case) removes the passkeys with the rest.
 */
const clock = steppableClock(systemClock.now());
const gh = await buildTestApp(t, { listen: true, clock });
const rpId = new URL(gh.issuer).hostname;
const REDIRECT = 'https://app.example.com/callback';
const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code'] });
const config = await relyingParty(gh, client);

/** Registers a passkey from /account (signed in with the password). */
async function registerPasskey(email: string, key: SoftAuthenticator) {
  const ua = new UserAgent();
  const login = await ua.follow(`${gh.issuer}/account`);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
  const home = await ua.follow(`${gh.issuer}/interaction/${uid}/login`, undefined, { form: { csrf: hiddenField(login.body, 'csrf'), email, password: PASSWORD } });
  const csrf = hiddenField(home.body, 'csrf');
  const options = JSON.parse((await ua.request(`${gh.issuer}/account/passkeys/options`, { json: { csrf } })).body);
  const res = await ua.request(`${gh.issuer}/account/passkeys`, { form: { csrf, name: 'Laptop', credential: key.register(options) } });
  if (res.status !== 303) throw new Error(`registration refused: ${res.status} ${res.body.slice(0, 300)}`);
}

/** An app's authorization request, the right password: the browser is on the second step. */
async function afterPassword(email: string) {
  const ua = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: REDIRECT });
  const login = await ua.follow(start.url.href, REDIRECT);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
  const csrf = hiddenField(login.body, 'csrf');
  const step = await ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf, email, password: PASSWORD } });
  const ticket = step.status === 200 ? hiddenField(step.body, 'ticket') : '';
  const options = async (body: Record<string, string> = { csrf, ticket }) => {
    const res = await ua.request(`${gh.issuer}/interaction/${uid}/mfa/passkey/options`, { json: body });
    return { status: res.status, json: JSON.parse(res.body) as { challenge: string; allowCredentials?: { id: string }[]; userVerification?: string; error?: string } };
  };
  const answer = (credential: string, form: Record<string, string> = {}) => ua.request(`${gh.issuer}/interaction/${uid}/mfa/passkey`, { form: { csrf, ticket, credential, ...form } });
  return { ua, uid, csrf, step, ticket, start, options, answer };
}

/** An authenticator app turned on through the use cases (the account's two-step sign-in). */
async function enrolApp(email: string) {
  const user = (await gh.services.users.findByEmail(email))!;
  const { secret } = await startTotpEnrolment(gh.services.secondFactors, user);
  const app = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  await confirmTotpEnrolment(gh.services.secondFactors, user, app.generate({ timestamp: clock.now().getTime() }), { ip: '127.0.0.1' });
}

const ada = await createVerifiedUser(gh.services, 'ada@example.com', PASSWORD);
const adaKey = softAuthenticator(rpId, gh.issuer);
await registerPasskey('ada@example.com', adaKey);
await createVerifiedUser(gh.services, 'bob@example.com', PASSWORD);
const bobKey = softAuthenticator(rpId, gh.issuer);
await registerPasskey('bob@example.com', bobKey);
await enrolApp('ada@example.com');
await enrolApp('bob@example.com');

t.test('password, then a passkey of the account: signed in at acr mfa', async (t) => {
  const s = await afterPassword('ada@example.com');
  t.equal(s.step.status, 200, 'the password alone does not finish the sign-in');
  t.match(s.step.body, /id="passkey-second-factor"/, 'the passkey form');
  t.match(s.step.body, /name="code"/, "and the app's code field");
  t.match(s.step.body, /<script src="\/assets\/passkeys.js" defer><\/script>/);

  const options = await s.options();
  t.equal(options.status, 200);
  t.equal(options.json.userVerification, 'required');
  t.same(options.json.allowCredentials?.map((c) => c.id), [adaKey.credentialId], "this account's passkeys only");

  const done = await s.answer(adaKey.assert(options.json));
  t.equal(done.status, 303, 'signed in');
  let page = await s.ua.follow(done.location!, REDIRECT);
  if (!page.location?.startsWith(REDIRECT)) {
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(page.url)![1]!;
    page = await s.ua.follow(`${gh.issuer}/interaction/${uid}/confirm`, REDIRECT, { form: { csrf: hiddenField(page.body, 'csrf') } });
  }
  const tokens = await oidc.authorizationCodeGrant(config, new URL(page.location!), { pkceCodeVerifier: s.start.verifier, expectedState: s.start.state }).catch((err: Error & { cause?: unknown }) => {
    throw new Error(`${err.message}: ${inspect(err.cause, { depth: 4 })}`);
  });
  const claims = tokens.claims()!;
  t.equal(claims.sub, ada.id);
  t.same(claims.amr, ['pwd', 'hwk', 'user', 'mfa'], 'the password, then a device-bound passkey with user verification');
  t.equal(claims.acr, 'urn:gatehouse:acr:mfa');
  const audited = await gh.services.auditStore.query({ type: 'mfa.succeeded', email: 'ada@example.com', limit: 5 });
  t.match(audited[0]?.detail, { method: 'passkey', purpose: 'sign_in' });
});

t.test("another account's passkey, a replay, a forgery, a forged note: a readable 4xx, nobody signed in", async (t) => {
  const s = await afterPassword('ada@example.com');
  const cases: [string, (o: { challenge: string }) => string, number][] = [
    ["bob's passkey", (o) => bobKey.assert(o), 401],
    ['a forged signature', (o) => adaKey.assert(o, { forgeSignature: true }), 401],
    ['no user verification', (o) => adaKey.assert(o, { userVerified: false }), 401],
    ['not JSON', () => 'not json', 400],
  ];
  for (const [what, answer, status] of cases) {
    const options = await s.options();
    const res = await s.answer(answer(options.json));
    t.equal(res.status, status, what);
    t.match(res.headers.get('content-type'), /^text\/html/, `${what}: a page`);
    t.match(res.body, /did not work/, `${what}: says so`);
    t.match(res.body, /id="passkey-second-factor"/, `${what}: the second step again`);
  }
  // One good answer, posted twice: the challenge is used once.
  const options = await s.options();
  const good = adaKey.assert(options.json);
  const [first, second] = await Promise.all([s.answer(good), s.answer(good)]);
  t.same([first.status, second.status].sort(), [303, 400], 'one winner; the other finds the challenge gone');

  const failures = await gh.services.auditStore.query({ type: 'mfa.failed', email: 'ada@example.com', limit: 20 });
  t.ok(failures.filter((e) => e.detail.method === 'passkey').length >= cases.length, 'every failure audited');

  const fresh = await afterPassword('ada@example.com');
  const forgedNote = await fresh.options({ csrf: fresh.csrf, ticket: `${fresh.ticket.slice(0, -4)}AAAA` });
  t.equal(forgedNote.status, 400, 'a forged step note gets no challenge');
  t.equal(forgedNote.json.error, 'invalid_request');
  const forgedCsrf = await fresh.options({ csrf: 'forged', ticket: fresh.ticket });
  t.equal(forgedCsrf.status, 403);
  const noNote = await fresh.answer(adaKey.assert((await fresh.options()).json), { ticket: 'x' });
  t.equal(noNote.status, 400, 'an answer with a forged note');
  t.match(noNote.body, /took too long/);

  // In /metrics (this file's server): the sign-in of the test above and the winner here passed; the
  // four refused answers and the replay's loser failed; the forged note never reached a check.
  const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
  t.match(metrics, /gatehouse_second_factor_checks_total\{method="passkey",outcome="success"\} 2\n/);
  t.match(metrics, /gatehouse_second_factor_checks_total\{method="passkey",outcome="failed"\} 5\n/);
});

t.test('a passkey alone adds no step to password sign-ins (it signs in on its own)', async (t) => {
  await createVerifiedUser(gh.services, 'cy@example.com', PASSWORD);
  await registerPasskey('cy@example.com', softAuthenticator(rpId, gh.issuer));
  const s = await afterPassword('cy@example.com');
  t.equal(s.step.status, 303, 'no second step: the account has no authenticator app');
});

t.test('an operator reset removes the passkeys too: the next sign-in asks for the password only', async (t) => {
  const { resetUserMfa } = await import('../../src/admin/mfa.ts');
  const result = await resetUserMfa({ users: gh.services.users, secondFactors: gh.services.secondFactors }, 'bob@example.com', 'test');
  t.same(result, { email: 'bob@example.com', totp_removed: true, recovery_codes_removed: 10, passkeys_removed: 1 });
  t.same(await gh.services.passkeys.listByUser((await gh.services.users.findByEmail('bob@example.com'))!.id), []);
  const s = await afterPassword('bob@example.com');
  t.equal(s.step.status, 303, 'no second step any more');
  const reset = await gh.services.auditStore.query({ type: 'mfa.reset', email: 'bob@example.com', limit: 1 });
  t.match(reset[0]?.detail, { actor: 'test', passkeys: 1 });
});
