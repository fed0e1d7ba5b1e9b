import t, { type Test } from 'tap';
import { systemClock } from '../../src/lib/clock.ts';
import { buildTestApp, type TestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { createVerifiedUser, PASSWORD } from '../helpers/fixtures.ts';
import { lastMailTo, readOutbox } from '../helpers/outbox.ts';

const json = (gh: TestApp, url: string, body: unknown) =>
  gh.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

const tokenOf = (link: string | undefined) => new URL(link!).searchParams.get('token')!;

async function mailsTo(gh: TestApp, to: string) {
  await gh.services.background.idle();
  return (await readOutbox(gh.config.dataDir)).filter((m) => m.to === to);
}

async function signedUp(t: Test, gh: TestApp, email: string, password = 'a kettle singing at dawn') {
  const res = await json(gh, '/account/signup', { email, password });
  t.equal(res.statusCode, 202);
  await gh.services.background.idle();
  return lastMailTo(gh.config.dataDir, email.trim().toLowerCase());
}

t.test('signup: 202 the same for a new and a taken address; the owner gets a notice; one user', async (t) => {
  const gh = await buildTestApp(t);
  const first = await json(gh, '/account/signup', { email: 'Sam@Example.com', password: 'a kettle singing at dawn' });
  const again = await json(gh, '/account/signup', { email: '  sam@EXAMPLE.com', password: 'another long passphrase here' });
  for (const res of [first, again]) {
    t.equal(res.statusCode, 202);
    t.equal(res.headers['cache-control'], 'no-store');
  }
  t.same(again.json(), first.json(), 'the same body');
  t.same(Object.keys(first.json()), ['message']);
  const users = await gh.db.prisma.user.findMany();
  t.equal(users.length, 1, 'one user in the database');
  t.equal(users[0]!.email, 'sam@example.com', 'trimmed and lower-cased');
  t.match(users[0]!.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'argon2id with the required parameters');
  t.equal(users[0]!.emailVerifiedAt, null);

  const mails = await mailsTo(gh, 'sam@example.com');
  t.same(mails.map((m) => m.subject), ['Confirm your email address', 'Finish creating your account'], 'verification, then (never confirmed) a link to choose the password');
  t.match(mails[1]!.link, /\/account\/password\/reset\?token=/);

  // Once confirmed, a second signup only brings a notice.
  const verify = await json(gh, '/account/verify-email', { token: tokenOf(mails[0]!.link) });
  t.equal(verify.statusCode, 204);
  await json(gh, '/account/signup', { email: 'SAM@example.com', password: 'yet another passphrase' });
  const notice = (await mailsTo(gh, 'sam@example.com')).at(-1)!;
  t.equal(notice.subject, 'You already have an account');
  t.notMatch(notice.text, /token=/, 'the notice carries no token');
  t.equal((await gh.db.prisma.user.findMany()).length, 1);
  const audit = await gh.services.auditStore.query({ type: 'signup.requested', limit: 10 });
  t.same(audit.map((e) => e.detail.new_account).sort(), [false, false, true]);
});

t.test('a refused email names the field and the reason', async (t) => {
  const gh = await buildTestApp(t);
  const res = await json(gh, '/account/signup', { email: 'not-an-address', password: 'a kettle singing at dawn' });
  t.same([res.statusCode, res.json().error, res.json().field, res.json().reason], [400, 'invalid_request', 'email', 'malformed']);
});

t.test('passwords: weak, common, too short and too long are refused with a reason; 128 Unicode characters work', async (t) => {
  const gh = await buildTestApp(t);
  const cases: [string, RegExp, string][] = [
    ['short', /at least 8 characters/, 'too_short'],
    ['x'.repeat(129), /at most 128 characters/, 'too_long'],
    ['password1', /most common passwords/, 'too_common'],
    ['iloveyou', /most common passwords/, 'too_common'],
    ['abcabcabcabc', /repeats the same few characters/, 'repetitive'],
    ['zzzzzzzzzzzz', /repeats the same few characters/, 'repetitive'],
    ['casey.jones-2024', /must not contain your email/, 'contains_email'],
    ['', /at least 8 characters/, 'too_short'],
  ];
  for (const [password, sentence, reason] of cases) {
    const res = await json(gh, '/account/signup', { email: 'casey.jones@example.com', password });
    t.equal(res.statusCode, 400, `"${password.slice(0, 20)}" refused`);
    t.equal(res.json().error, 'invalid_request');
    t.match(res.json().error_description, sentence);
    t.same([res.json().field, res.json().reason], ['password', reason], 'the field and the reason, for a client to act on');
  }
  t.equal((await gh.db.prisma.user.count()), 0, 'nothing written');

  // 128 code points after NFKC, mixing scripts and characters outside the BMP (2 UTF-16 units each).
  const unit = 'Ωμέγα-пароль-密码-🔐🦊-ñ ';
  const long = [...unit.repeat(20)].slice(0, 128).join('');
  t.equal([...long.normalize('NFKC')].length, 128);
  t.ok(long.length > 128, 'longer than 128 in UTF-16 units');
  const mail = await signedUp(t, gh, 'unicode@example.com', long);
  t.equal((await json(gh, '/account/verify-email', { token: tokenOf(mail.link) })).statusCode, 204);
  const user = await gh.services.users.findByEmail('unicode@example.com');
  t.ok(await gh.services.hasher.verify(user!.passwordHash!, long.normalize('NFKC')), 'the whole password is what was hashed');
  const { authenticate } = await import('../../src/accounts/authenticate.ts');
  const deps = { ...gh.services.accounts, requireEmailVerification: true };
  t.equal((await authenticate(deps, 'unicode@example.com', long)).ok, true, 'it signs in');
  t.equal((await authenticate(deps, 'unicode@example.com', long.slice(0, -1))).ok, false, 'no truncation: one character less fails');
  // NFKC: the fullwidth form of the same characters is the same password.
  const ascii = 'quiet lantern harbour';
  await signedUp(t, gh, 'nfkc@example.com', ascii.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)));
  await gh.services.users.update((await gh.services.users.findByEmail('nfkc@example.com'))!.id, { emailVerifiedAt: new Date() });
  t.equal((await authenticate(deps, 'nfkc@example.com', ascii)).ok, true, 'NFKC-normalised before hashing');
});

t.test('verify-email: the link page consumes nothing; the POST does, once', async (t) => {
  const gh = await buildTestApp(t);
  const mail = await signedUp(t, gh, 'vera@example.com');
  const token = tokenOf(mail.link);
  const pageRes = await gh.app.inject({ method: 'GET', url: `/account/verify-email?token=${token}` });
  t.equal(pageRes.statusCode, 200);
  t.match(pageRes.body, /<form method="post" action="\/account\/verify-email">/);
  t.match(pageRes.body, /<button type="submit"[^>]*>Confirm my email address<\/button>/);
  t.equal(pageRes.headers['cache-control'], 'no-store');
  t.equal(pageRes.headers['x-frame-options'], 'DENY');
  t.equal(pageRes.headers['referrer-policy'], 'no-referrer');
  t.match(pageRes.headers['content-security-policy'], /frame-ancestors 'none'/);
  await gh.app.inject({ method: 'GET', url: `/account/verify-email?token=${token}` });
  t.equal((await gh.services.users.findByEmail('vera@example.com'))!.emailVerifiedAt, null, 'GETs (mail scanners) confirm nothing');

  const ok = await json(gh, '/account/verify-email', { token });
  t.equal(ok.statusCode, 204);
  t.ok((await gh.services.users.findByEmail('vera@example.com'))!.emailVerifiedAt);
  const reused = await json(gh, '/account/verify-email', { token });
  t.equal(reused.statusCode, 400);
  t.equal(reused.json().error, 'token_used');
  t.match(reused.json().error_description, /already been used/);
  const bogus = await json(gh, '/account/verify-email', { token: 'x'.repeat(43) });
  t.equal(bogus.json().error, 'invalid_token');
  const usedPage = await gh.app.inject({ method: 'GET', url: `/account/verify-email?token=${token}` });
  t.equal(usedPage.statusCode, 400);
  t.match(usedPage.body, /already been used/);
  const noToken = await gh.app.inject({ method: 'GET', url: '/account/verify-email' });
  t.equal(noToken.statusCode, 400);
  t.match(noToken.body, /not valid/);
  t.equal((await gh.services.auditStore.query({ type: 'email.verified', limit: 5 })).length, 1);
});

t.test('forgot password: 202 for any well-formed address, 400 for a malformed body; mail only for accounts', async (t) => {
  const gh = await buildTestApp(t);
  await createVerifiedUser(gh.services, 'kim@example.com', PASSWORD);
  const known = await json(gh, '/account/password/forgot', { email: 'KIM@example.com' });
  const unknown = await json(gh, '/account/password/forgot', { email: 'nobody@example.com' });
  for (const res of [known, unknown]) {
    t.equal(res.statusCode, 202);
    t.equal(res.headers['cache-control'], 'no-store');
  }
  t.same(known.json(), unknown.json());
  t.equal((await json(gh, '/account/password/forgot', { email: 'not an email' })).statusCode, 400);
  t.equal((await json(gh, '/account/password/forgot', {})).statusCode, 400);
  await gh.services.background.idle();
  const mails = await readOutbox(gh.config.dataDir);
  t.same(mails.map((m) => [m.to, m.subject]), [['kim@example.com', 'Reset your password']]);
  t.match(mails[0]!.link, new RegExp(`^${gh.issuer}/account/password/reset\\?token=[A-Za-z0-9_-]{43}$`));
  const audit = await gh.services.auditStore.query({ type: 'password.reset_requested', limit: 5 });
  t.same(audit.map((e) => e.email).sort(), ['kim@example.com', 'nobody@example.com']);
});

t.test('reset password: 204, single use, older links die, a used or expired token says so', async (t) => {
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { clock });
  const user = await createVerifiedUser(gh.services, 'robin@example.com', PASSWORD);
  await gh.db.prisma.user.update({ where: { id: user.id }, data: { passwordDisabledAt: clock.now() } });
  await json(gh, '/account/password/forgot', { email: 'robin@example.com' });
  await json(gh, '/account/password/forgot', { email: 'robin@example.com' });
  const [older, newer] = (await mailsTo(gh, 'robin@example.com')).map((m) => tokenOf(m.link));

  const page = await gh.app.inject({ method: 'GET', url: `/account/password/reset?token=${newer}` });
  t.equal(page.statusCode, 200);
  t.match(page.body, /autocomplete="new-password"/);
  t.match(page.body, /<label for="password">New password<\/label>/);

  const weak = await json(gh, '/account/password/reset', { token: newer, password: '12345678' });
  t.equal(weak.statusCode, 400);
  t.match(weak.json().error_description, /most common/);
  const done = await json(gh, '/account/password/reset', { token: newer, password: 'a brand new passphrase' });
  t.equal(done.statusCode, 204);
  t.equal(done.body, '');
  const after = (await gh.services.users.findById(user.id))!;
  t.ok(await gh.services.hasher.verify(after.passwordHash!, 'a brand new passphrase'));
  t.equal(after.passwordDisabledAt, null, 'a reset enables a disabled password again');

  const used = await json(gh, '/account/password/reset', { token: newer, password: 'a third passphrase' });
  t.equal(used.statusCode, 400);
  t.equal(used.json().error, 'token_used');
  t.match(used.json().error_description, /already been used/);
  const olderRes = await json(gh, '/account/password/reset', { token: older, password: 'a third passphrase' });
  t.equal(olderRes.json().error, 'invalid_token', 'the older link died with the reset');
  t.ok(await gh.services.hasher.verify((await gh.services.users.findById(user.id))!.passwordHash!, 'a brand new passphrase'), 'unchanged');

  await json(gh, '/account/password/forgot', { email: 'robin@example.com' });
  const late = tokenOf((await mailsTo(gh, 'robin@example.com')).find((m) => m.subject === 'Reset your password' && tokenOf(m.link) !== older && tokenOf(m.link) !== newer)!.link);
  clock.advance(30 * 60 + 1);
  const expired = await json(gh, '/account/password/reset', { token: late, password: 'a third passphrase' });
  t.equal(expired.statusCode, 400);
  t.equal(expired.json().error, 'token_expired');
  t.match(expired.json().error_description, /expired/);
  const expiredPage = await gh.app.inject({ method: 'GET', url: `/account/password/reset?token=${late}` });
  t.equal(expiredPage.statusCode, 400);
  t.match(expiredPage.body, /has expired/);
  t.match(expiredPage.body, /href="\/account\/password\/forgot"/, 'the page offers a new link');

  const notices = (await mailsTo(gh, 'robin@example.com')).filter((m) => m.subject === 'Your password was changed');
  t.equal(notices.length, 1, 'the owner is told the password changed');
  t.equal((await gh.services.auditStore.query({ type: 'password.reset', limit: 5 })).length, 1);
});

t.test('the pages work as forms too, without JavaScript', async (t) => {
  const gh = await buildTestApp(t);
  await createVerifiedUser(gh.services, 'form@example.com', PASSWORD);
  const form = (url: string, fields: Record<string, string>) =>
    gh.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });

  const forgotPage = await gh.app.inject({ method: 'GET', url: '/account/password/forgot?interaction=abc_DEF-1' });
  t.equal(forgotPage.statusCode, 200);
  t.match(forgotPage.body, /<label for="email">Email<\/label>/);
  const returnCookie = String(forgotPage.headers['set-cookie']);
  for (const attribute of [/^gatehouse_return=abc_DEF-1;/, /; Path=\/account(;|$)/, /; Max-Age=1800(;|$)/, /; HttpOnly(;|$)/, /; SameSite=Lax(;|$)/]) t.match(returnCookie, attribute);
  t.notMatch(returnCookie, /Secure/, 'not Secure on an http issuer');
  const bad = await form('/account/password/forgot', { email: 'nope' });
  t.equal(bad.statusCode, 400);
  t.match(bad.headers['content-type'], /text\/html/);
  t.match(bad.body, /Enter a valid email address/);
  t.match(bad.body, /value="nope"/, 'the typed value is kept');
  const sent = await form('/account/password/forgot', { email: 'form@example.com' });
  t.equal(sent.statusCode, 200);
  t.match(sent.body, /Check your inbox/);
  await gh.services.background.idle();
  const token = tokenOf((await lastMailTo(gh.config.dataDir, 'form@example.com')).link);

  const resetPage = await gh.app.inject({ method: 'GET', url: `/account/password/reset?token=${token}` });
  const csrf = /name="csrf" value="([^"]+)"/.exec(resetPage.body)![1]!;
  const forged = await form('/account/password/reset', { token, password: 'a brand new passphrase', csrf: 'forged' });
  t.equal(forged.statusCode, 403, 'a form token that does not belong to this link is refused');
  const weak = await form('/account/password/reset', { token, password: 'short', csrf });
  t.equal(weak.statusCode, 400);
  t.match(weak.body, /at least 8 characters/);
  t.match(weak.body, new RegExp(`name="token" value="${token}"`), 'the form keeps the link');
  const changed = await gh.app.inject({
    method: 'POST',
    url: '/account/password/reset',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'gatehouse_return=abc_DEF-1' },
    payload: new URLSearchParams({ token, password: 'a brand new passphrase', csrf }).toString(),
  });
  t.equal(changed.statusCode, 200);
  t.match(changed.body, /Password changed/);
  t.match(changed.body, /href="\/interaction\/abc_DEF-1"/, 'back to the sign-in the person left');
  const again = await form('/account/password/reset', { token, password: 'a brand new passphrase', csrf });
  t.equal(again.statusCode, 400);
  t.match(again.body, /already been used/);

  const signupForm = await form('/account/signup', { email: 'x@example.com', password: 'a long enough one' });
  t.equal(signupForm.statusCode, 415, 'the signup API takes JSON; people sign up from the sign-in page');
});
