import { inspect } from 'node:util';
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import t, { type Test } from 'tap';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/accounts/mfa/second-factors.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { ACR_MFA } from '../../src/oidc/acr.ts';
import { buildTestApp, type TestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, startAuthorization, type AuthorizationStart } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent, type Step } from '../helpers/user-agent.ts';

/**
 * The second step of the sign-in over plain HTTP: what a wrong, malformed, oversized or forged
 * submission gets (a readable page with a 4xx, never a 500), throttling of wrong codes in the login
 * defense (its own per-account counters, which a right password does not clear), and
 * REQUIRE_MFA=required sending a person without a factor through enrolment before the sign-in ends.
 * The clock starts at wall time (oidc-provider stamps tokens with it) and is stepped by hand.
 */
const REDIRECT = 'https://app.example.com/callback';
const EMAIL = 'mia@example.com';

async function setup(t: Test, env: Record<string, string> = {}) {
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock, env });
  const client = await registerClient(gh.services, { name: 'Web app', redirectUris: [REDIRECT], grants: ['authorization_code'] });
  const config = await relyingParty(gh, client);
  await createVerifiedUser(gh.services, EMAIL, PASSWORD);
  return { gh, clock, config };
}

/** An authenticator app enrolled through the use cases; returns a code generator on the test's clock. */
async function enrol(gh: TestApp, clock: { now(): Date; advance(s: number): void }) {
  const user = (await gh.services.users.findByEmail(EMAIL))!;
  const { secret } = await startTotpEnrolment(gh.services.secondFactors, user);
  const app = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  const code = () => app.generate({ timestamp: clock.now().getTime() });
  const { recoveryCodes } = await confirmTotpEnrolment(gh.services.secondFactors, user, code(), { ip: '127.0.0.1' });
  clock.advance(30); // the enrolment's code is spent
  return { code, recoveryCodes: recoveryCodes! };
}

/** Password accepted: the browser is on the second step (or whatever came after the password). */
async function afterPassword(gh: TestApp, config: oidc.Configuration) {
  const ua = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: REDIRECT });
  const login = await ua.follow(start.url.href, REDIRECT);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
  const csrf = hiddenField(login.body, 'csrf');
  const step = await ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf, email: EMAIL, password: PASSWORD } });
  return { ua, uid, csrf, step, start };
}

const isPage = (t: Test, step: Step, status: number, what: string) => {
  t.equal(step.status, status, `${what}: ${status}`);
  t.match(step.headers.get('content-type'), /^text\/html/, `${what}: a page`);
  t.notMatch(step.body, /server_error|Internal Server Error/, `${what}: not a server error`);
};

/** From a 303 after the last sign-in step to the app's redirect with a code (consent on the way). */
async function toCode(ua: UserAgent, gh: TestApp, step: Step): Promise<URL> {
  let page = await ua.follow(step.location!, REDIRECT);
  if (!page.location?.startsWith(REDIRECT)) {
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(page.url)![1]!;
    page = await ua.follow(`${gh.issuer}/interaction/${uid}/confirm`, REDIRECT, { form: { csrf: hiddenField(page.body, 'csrf') } });
  }
  return new URL(page.location!);
}

async function idTokenClaims(config: oidc.Configuration, callback: URL, start: AuthorizationStart) {
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state }).catch((err: Error & { cause?: unknown }) => {
    throw new Error(`${err.message}: ${inspect(err.cause, { depth: 4 })}`);
  });
  return tokens.claims()!;
}

t.test('bad input at the second step: a readable page with a 4xx, never a 500', async (t) => {
  const { gh, clock, config } = await setup(t, { LOGIN_FREE_ATTEMPTS: '50' });
  const { code } = await enrol(gh, clock);
  const { ua, uid, csrf, step, start } = await afterPassword(gh, config);
  isPage(t, step, 200, 'the right password');
  t.match(step.body, /Confirm it’s you/);
  const ticket = hiddenField(step.body, 'ticket');
  const post = (form: Record<string, string>) => ua.request(`${gh.issuer}/interaction/${uid}/mfa`, { form });

  for (const [typed, what] of [
    ['000000', 'a wrong code'],
    ['12345', 'five digits'],
    ['abc!', 'not a code at all'],
    ['', 'nothing'],
    ['zzzz-zzzz-zzzz-zzzz', 'a recovery code that is not one of them'],
  ] as const) {
    const r = await post({ csrf, ticket, code: typed === '000000' && code() === '000000' ? '000001' : typed });
    isPage(t, r, 401, what);
    t.match(r.body, /The code is not correct/, `${what}: says so`);
    t.match(r.body, /name="ticket"/, `${what}: the form again`);
  }
  isPage(t, await post({ csrf, ticket, code: '1'.repeat(101) }), 400, 'an oversized code');
  isPage(t, await post({ csrf, ticket }), 400, 'no code field');
  isPage(t, await post({ csrf, ticket, code: '123456', extra: 'x' }), 400, 'an unknown field');
  const tampered = await post({ csrf, ticket: `${ticket.slice(0, -4)}AAAA`, code: code() });
  isPage(t, tampered, 400, 'a tampered ticket');
  t.match(tampered.body, /took too long/);
  isPage(t, await post({ csrf: 'forged', ticket, code: code() }), 403, 'a forged csrf token');
  // A ticket is bound to its interaction: another sign-in's ticket does not work here.
  const other = await afterPassword(gh, config);
  const foreign = await other.ua.request(`${gh.issuer}/interaction/${other.uid}/mfa`, { form: { csrf: other.csrf, ticket, code: code() } });
  isPage(t, foreign, 400, "another interaction's ticket");

  const right = await post({ csrf, ticket, code: code() });
  t.equal(right.status, 303, 'the right code finishes the sign-in');
  const claims = await idTokenClaims(config, await toCode(ua, gh, right), start);
  t.equal(claims.acr, ACR_MFA);
  t.same(claims.amr, ['pwd', 'otp', 'mfa']);
  const failed = await gh.services.auditStore.query({ email: EMAIL, type: 'mfa.failed', limit: 50 });
  t.equal(failed.length, 5, 'each wrong code is an audit event');
  t.notMatch(JSON.stringify(gh.logs), /zzzz-zzzz/, 'typed codes are not logged');
});

t.test('wrong codes are throttled like passwords, in counters a right password does not clear', async (t) => {
  const { gh, clock, config } = await setup(t, { LOGIN_FREE_ATTEMPTS: '3', LOGIN_BASE_DELAY: '30s' });
  const { code } = await enrol(gh, clock);
  const { ua, uid, csrf, step } = await afterPassword(gh, config);
  const ticket = hiddenField(step.body, 'ticket');
  const post = (typed: string) => ua.request(`${gh.issuer}/interaction/${uid}/mfa`, { form: { csrf, ticket, code: typed } });
  const wrong = () => (code() === '000000' ? '000001' : '000000');

  for (let i = 0; i < 3; i++) isPage(t, await post(wrong()), 401, `free attempt ${i + 1}`);
  const refused = await post(code());
  isPage(t, refused, 429, 'the next one, even the right code, waits');
  t.equal(refused.headers.get('retry-after'), '30');
  t.match(refused.body, /Too many sign-in attempts\. Try again in 30 seconds\./);
  t.equal((await gh.services.auditStore.query({ email: EMAIL, type: 'mfa.throttled', limit: 5 })).length, 1);

  // Typing the password again (right) starts the password counters afresh, not the code's.
  const again = await afterPassword(gh, config);
  isPage(t, again.step, 200, 'the password is still accepted');
  const stillWaiting = await again.ua.request(`${gh.issuer}/interaction/${again.uid}/mfa`, { form: { csrf: again.csrf, ticket: hiddenField(again.step.body, 'ticket'), code: code() } });
  isPage(t, stillWaiting, 429, 'a fresh password does not buy fresh guesses');

  clock.advance(30);
  const right = await post(code());
  t.equal(right.status, 303, 'after the wait the right code signs in');

  const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
  t.match(metrics, /gatehouse_second_factor_checks_total\{method="code",outcome="failed"\} 3\n/, 'three wrong codes counted');
  t.match(metrics, /gatehouse_second_factor_checks_total\{method="code",outcome="throttled"\} 2\n/, 'two refused while waiting');
  t.match(metrics, /gatehouse_second_factor_checks_total\{method="code",outcome="success"\} 1\n/, 'one second step passed');
});

t.test('REQUIRE_MFA=required: a person without a factor enrols before the sign-in finishes', async (t) => {
  const { gh, clock, config } = await setup(t, { REQUIRE_MFA: 'required' });
  t.equal(gh.config.requireMfa, 'required');
  const { ua, uid, csrf, step, start } = await afterPassword(gh, config);
  isPage(t, step, 200, 'the right password');
  t.match(step.body, /<h1>Set up an authenticator app<\/h1>/);
  t.match(step.body, /This service requires a second factor/);
  t.match(step.body, /<svg[^>]*>/, 'the QR code');
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(step.body)![1]!.replace(/ /g, '');
  const app = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  const code = () => app.generate({ timestamp: clock.now().getTime() });
  const ticket = hiddenField(step.body, 'ticket');
  const post = (typed: string) => ua.request(`${gh.issuer}/interaction/${uid}/mfa/enrol`, { form: { csrf, ticket, code: typed } });

  const wrong = await post(code() === '000000' ? '000001' : '000000');
  isPage(t, wrong, 400, 'a wrong code');
  t.match(wrong.body, /The code is not correct/);
  t.match(wrong.body, new RegExp(secret.slice(0, 4)), 'the same key again');
  t.equal((await gh.services.secondFactors.mfa.findTotp((await gh.services.users.findByEmail(EMAIL))!.id))?.confirmedAt, null, 'not on yet');

  const codes = await post(code());
  isPage(t, codes, 200, 'the right code');
  t.equal([...codes.body.matchAll(/<li><code>[0-9a-z-]{19}<\/code><\/li>/g)].length, 10, 'ten recovery codes, once');
  const done = await ua.request(`${gh.issuer}/interaction/${uid}/mfa/continue`, { form: { csrf, ticket: hiddenField(codes.body, 'ticket') } });
  t.equal(done.status, 303);
  const claims = await idTokenClaims(config, await toCode(ua, gh, done), start);
  t.equal(claims.acr, ACR_MFA);
  t.same(claims.amr, ['pwd', 'otp', 'mfa']);

  // The enrolment ticket cannot finish a sign-in on its own (a step ticket names its step).
  const replay = await ua.request(`${gh.issuer}/interaction/${uid}/mfa/continue`, { form: { csrf, ticket } });
  isPage(t, replay, 400, 'an enrolment ticket at the last step');

  t.throws(() => loadConfig({ REQUIRE_MFA: 'sometimes' }, '/tmp'), /REQUIRE_MFA.*must be one of off, optional, required/, 'a bad value is named');
});

t.test('the account area: new recovery codes, turning the app off (a code or the password), REQUIRE_MFA=off', async (t) => {
  for (const policy of ['optional', 'off'] as const) {
    const { gh, clock } = await setup(t, { REQUIRE_MFA: policy, LOGIN_FREE_ATTEMPTS: '50' });
    const ua = new UserAgent();
    const signInAtAccount = async () => {
      const login = await ua.follow(`${gh.issuer}/account`);
      const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
      return ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf: hiddenField(login.body, 'csrf'), email: EMAIL, password: PASSWORD } });
    };
    await ua.follow((await signInAtAccount()).location!);
    const overview = await ua.request(`${gh.issuer}/account/mfa`);
    isPage(t, overview, 200, `${policy}: the second-factor page`);
    const csrf = hiddenField((await ua.request(`${gh.issuer}/account`)).body, 'csrf');
    if (policy === 'off') {
      t.match(overview.body, /This service does not offer authenticator apps/);
      const setUp = await ua.request(`${gh.issuer}/account/mfa/totp`);
      t.same([setUp.status, setUp.location], [303, `${gh.issuer}/account/mfa`], 'off: no enrolment');
      t.equal((await ua.request(`${gh.issuer}/account/mfa/totp/confirm`, { form: { csrf, code: '123456' } })).status, 303);
      t.equal(await gh.services.secondFactors.mfa.findTotp((await gh.services.users.findByEmail(EMAIL))!.id), undefined);
      continue;
    }
    const { code, recoveryCodes } = await enrol(gh, clock);
    t.match((await ua.request(`${gh.issuer}/account/mfa`)).body, /Unused recovery codes: 10/);
    isPage(t, await ua.request(`${gh.issuer}/account/mfa/recovery-codes`, { form: { csrf: 'forged' } }), 403, 'a forged csrf token');
    const fresh = await ua.request(`${gh.issuer}/account/mfa/recovery-codes`, { form: { csrf } });
    isPage(t, fresh, 200, 'new recovery codes');
    const codes = [...fresh.body.matchAll(/<li><code>([0-9a-z-]{19})<\/code><\/li>/g)].map((m) => m[1]!);
    t.equal(codes.length, 10);
    t.equal(codes.filter((c) => recoveryCodes.includes(c)).length, 0, 'all new');

    const disable = (form: Record<string, string>) => ua.request(`${gh.issuer}/account/mfa/totp/disable`, { form: { csrf, ...form } });
    isPage(t, await disable({}), 400, 'neither a code nor the password');
    const wrongCode = await disable({ code: code() === '000000' ? '000001' : '000000' });
    isPage(t, wrongCode, 400, 'a wrong code');
    t.match(wrongCode.body, /The code is not correct/);
    const wrongPassword = await disable({ password: 'not the password' });
    isPage(t, wrongPassword, 400, 'a wrong password');
    t.match(wrongPassword.body, /current password is not correct/);
    isPage(t, await disable({ code: 'x'.repeat(101) }), 400, 'an oversized code');
    t.ok(await gh.services.secondFactors.mfa.findTotp((await gh.services.users.findByEmail(EMAIL))!.id), 'still on');
    const off = await disable({ password: PASSWORD });
    t.same([off.status, off.location], [303, `${gh.issuer}/account/mfa?done=disabled`]);
    t.match((await ua.request(off.location!)).body, /Your authenticator app was turned off/);
    const user = (await gh.services.users.findByEmail(EMAIL))!;
    t.equal(await gh.services.secondFactors.mfa.findTotp(user.id), undefined);
    t.equal(await gh.services.secondFactors.mfa.unusedRecoveryCodes(user.id), 0);
    t.equal((await gh.services.auditStore.query({ email: EMAIL, type: 'mfa.totp_disabled', limit: 5 })).length, 1);
  }
});

t.test('two sign-ins racing with one code: exactly one finishes', async (t) => {
  const { gh, clock, config } = await setup(t);
  const { code } = await enrol(gh, clock);
  const both = await Promise.all([afterPassword(gh, config), afterPassword(gh, config)]);
  const typed = code();
  const answers = await Promise.all(
    both.map(({ ua, uid, csrf, step }) => ua.request(`${gh.issuer}/interaction/${uid}/mfa`, { form: { csrf, ticket: hiddenField(step.body, 'ticket'), code: typed } })),
  );
  t.same(answers.map((a) => a.status).sort(), [303, 401], 'one winner, one refusal');
});

t.test('prompt=login and max_age=0 force a fresh sign-in at the same strength: password, then the code again', async (t) => {
  const { gh, clock, config } = await setup(t);
  const { code } = await enrol(gh, clock);
  const first = await afterPassword(gh, config);
  const done = await first.ua.request(`${gh.issuer}/interaction/${first.uid}/mfa`, { form: { csrf: first.csrf, ticket: hiddenField(first.step.body, 'ticket'), code: code() } });
  await toCode(first.ua, gh, done);

  for (const params of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
    clock.advance(30);
    const start = await startAuthorization(config, { redirect_uri: REDIRECT, ...params });
    const login = await first.ua.follow(start.url.href, REDIRECT);
    t.match(login.body, /<h1>Sign in<\/h1>/, `${JSON.stringify(params)}: the sign-in page, although signed in`);
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
    const csrf = hiddenField(login.body, 'csrf');
    const second = await first.ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf, email: EMAIL, password: PASSWORD } });
    t.match(second.body, /Confirm it’s you/, 'and the code again');
    const right = await first.ua.request(`${gh.issuer}/interaction/${uid}/mfa`, { form: { csrf, ticket: hiddenField(second.body, 'ticket'), code: code() } });
    const claims = await idTokenClaims(config, await toCode(first.ua, gh, right), start);
    t.equal(claims.acr, ACR_MFA);
    t.ok(typeof claims.auth_time === 'number', 'auth_time is in the ID token');
  }
});
