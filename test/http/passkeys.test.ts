import * as oidc from 'openid-client';
import t from 'tap';
import { systemClock } from '../../src/lib/clock.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';
import { softAuthenticator, type SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

/**
 * Passkeys over HTTP with a software authenticator: what a broken, forged, replayed or raced answer
 * gets (a readable 4xx, never a 500, nothing signed in), the challenge rules (single use, bound to its
 * interaction or session, short-lived), the counter, the guard, and who may change whose passkeys.
 */
// Our clock (challenges, guard, ban cache) steps by hand; oidc-provider keeps wall time, so it starts there.
const clock = steppableClock(systemClock.now());
const gh = await buildTestApp(t, { listen: true, clock });
const origin = gh.issuer;
const rpId = new URL(gh.issuer).hostname;
const redirectUri = 'https://app.example.com/callback';
const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [redirectUri], grants: ['authorization_code'] });
const rp = await relyingParty(gh, client);

/** A browser signed in to /account (with the password), and the account page's CSRF token. */
async function accountSession(email: string) {
  const ua = new UserAgent();
  const login = await ua.follow(`${gh.issuer}/account`);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
  const home = await ua.follow(`${gh.issuer}/interaction/${uid}/login`, undefined, { form: { csrf: hiddenField(login.body, 'csrf'), email, password: PASSWORD } });
  if (!home.body.includes('Passkeys')) throw new Error(`not the account page: ${home.status} ${home.body.slice(0, 200)}`);
  return { ua, csrf: hiddenField(home.body, 'csrf') };
}

async function registerPasskey(email: string, key: SoftAuthenticator, name = 'Test key') {
  const { ua, csrf } = await accountSession(email);
  const options = JSON.parse((await ua.request(`${gh.issuer}/account/passkeys/options`, { json: { csrf } })).body);
  const res = await ua.request(`${gh.issuer}/account/passkeys`, { form: { csrf, name, credential: key.register(options) } });
  if (res.status !== 303) throw new Error(`registration refused: ${res.status} ${res.body.slice(0, 300)}`);
  return { ua, csrf };
}

/** A fresh browser at the login page of an app's authorization request: its interaction and a passkey challenge. */
async function loginPage(ua = new UserAgent()) {
  const start = await startAuthorization(rp, { redirect_uri: redirectUri });
  const page = await ua.follow(start.url.href, redirectUri);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(page.url)![1]!;
  const csrf = hiddenField(page.body, 'csrf');
  const optionsRes = await ua.request(`${gh.issuer}/interaction/${uid}/passkey/options`, { json: { csrf } });
  return { ua, uid, csrf, options: JSON.parse(optionsRes.body) as { challenge: string; allowCredentials?: unknown[]; userVerification: string }, optionsStatus: optionsRes.status };
}

const post = (page: { ua: UserAgent; uid: string; csrf: string }, credential: string) =>
  page.ua.request(`${gh.issuer}/interaction/${page.uid}/passkey`, { form: { csrf: page.csrf, credential } });

const user = await createVerifiedUser(gh.services, 'owner@example.com', PASSWORD);
const key = softAuthenticator(rpId, origin);
const owner = await registerPasskey('owner@example.com', key, 'Laptop');

t.test('a good answer signs in (303 on to the consent step); the options ask for a discoverable, verified passkey', async (t) => {
  const page = await loginPage();
  t.equal(page.optionsStatus, 200);
  t.equal(page.options.userVerification, 'required');
  t.same(page.options.allowCredentials ?? [], [], 'no allow list: any discoverable passkey');
  const res = await post(page, key.assert(page.options));
  t.equal(res.status, 303);
  t.match(res.location, new RegExp(`^${gh.issuer}/auth/`), 'back to the engine, signed in');
  const stored = await gh.services.passkeys.find(key.credentialId);
  t.equal(stored?.counter, key.counter, 'counter stored');
});

t.test('broken, forged and foreign answers: a readable 4xx, never a 500, nothing signed in', async (t) => {
  const cases: [string, (o: { challenge: string }) => string, number, RegExp][] = [
    ['not JSON', () => 'not json', 400, /did not work/],
    ['not a credential', () => '{"id":"x"}', 400, /did not work/],
    ['wrong type of JSON', () => '[1,2,3]', 400, /did not work/],
    ['a forged signature', (o) => key.assert(o, { forgeSignature: true }), 401, /did not work/],
    ['another origin', (o) => key.assert(o, { origin: 'https://evil.example' }), 401, /did not work/],
    ['no user verification', (o) => key.assert(o, { userVerified: false }), 401, /did not work/],
    ['an unknown passkey', (o) => softAuthenticator(rpId, origin).assert(o), 401, /not registered with any account/],
    ['a challenge never issued', () => key.assert({ challenge: Buffer.from('made up').toString('base64url') }), 400, /expired/],
  ];
  for (const [what, answer, status, sentence] of cases) {
    const page = await loginPage();
    const res = await post(page, answer(page.options));
    t.equal(res.status, status, what);
    t.match(res.body, sentence, `${what}: says why`);
    t.match(res.body, /<form method="post" action="\/interaction\/[^/]+\/login"/, `${what}: the login page again`);
  }
  const failures = await gh.services.auditStore.query({ type: 'login.failed', limit: 50 });
  t.ok(failures.filter((e) => e.detail.method === 'passkey').length >= cases.length, 'every failure audited');
  // The owner's own passkey still signs in (and, as after the right password, the counters start afresh).
  const page = await loginPage();
  t.equal((await post(page, key.assert(page.options))).status, 303);
});

t.test('replayed and raced answers: one challenge, one sign-in', async (t) => {
  // Two simultaneous posts of one good answer (an account with no failed attempts, so the guard
  // admits both): the challenge is taken once, exactly one signs in.
  await createVerifiedUser(gh.services, 'racer@example.com', PASSWORD);
  const racer = softAuthenticator(rpId, origin);
  await registerPasskey('racer@example.com', racer);
  const page = await loginPage();
  const answer = racer.assert(page.options);
  const results = await Promise.all([post(page, answer), post(page, answer)]);
  t.same(results.map((r) => r.status).sort(), [303, 400], 'one winner, one refusal');
  t.equal(results.filter((r) => r.location).length, 1, 'one sign-in');
  t.match(results.find((r) => r.status === 400)!.body, /expired/, 'the loser found the challenge gone');

  // The same answer again at a new interaction: the challenge is gone (and was someone else's).
  const other = await loginPage();
  const replay = await post(other, answer);
  t.equal(replay.status, 400);
  t.match(replay.body, /expired/);

  // A challenge issued to one browser's interaction, answered at another's.
  const mine = await loginPage();
  const theirs = await loginPage();
  const crossed = await post(theirs, key.assert(mine.options));
  t.equal(crossed.status, 400, 'bound to the interaction');
  t.equal((await post(mine, key.assert(mine.options))).status, 303, "another browser cannot burn it: its own browser's answer still works");

  // A registration challenge is not a sign-in challenge.
  const reg = JSON.parse((await owner.ua.request(`${gh.issuer}/account/passkeys/options`, { json: { csrf: owner.csrf } })).body);
  const page2 = await loginPage();
  t.equal((await post(page2, key.assert(reg))).status, 400, 'purpose checked');

  // An expired challenge (older than five minutes).
  const late = await loginPage();
  clock.advance(301);
  t.equal((await post(late, key.assert(late.options))).status, 400, 'expired');
});

t.test('a signature counter that goes backwards is refused and audited', async (t) => {
  const page = await loginPage();
  const res = await post(page, key.assert(page.options, { counter: 1 }));
  t.equal(res.status, 401);
  const events = await gh.services.auditStore.query({ type: 'passkey.counter_rollback', limit: 5 });
  t.equal(events.length, 1);
  t.equal(events[0]!.userId, user.id);
  // The real authenticator's next answer still works.
  const next = await loginPage();
  t.equal((await post(next, key.assert(next.options))).status, 303);
});

t.test('a cloned passkey: two sign-ins at once with one counter value, exactly one gets in', async (t) => {
  // Two browsers, two challenges, two valid signatures carrying the same next counter: what a copy
  // of the key used beside the original looks like. Each alone would pass the counter check.
  const [a, b] = await Promise.all([loginPage(), loginPage()]);
  const next = key.counter + 1;
  const before = (await gh.services.auditStore.query({ type: 'passkey.counter_rollback', limit: 20 })).length;
  const results = await Promise.all([post(a, key.assert(a.options, { counter: next })), post(b, key.assert(b.options, { counter: next }))]);
  t.same(results.map((r) => r.status).sort(), [303, 401], 'one signs in, the other is refused');
  t.equal((await gh.services.auditStore.query({ type: 'passkey.counter_rollback', limit: 20 })).length, before + 1, 'and audited as a counter that did not move forward');
  t.equal((await gh.services.passkeys.listByUser(user.id))[0]?.counter, next, 'the counter moved once');
  key.counter = next;
  const after = await loginPage();
  t.equal((await post(after, key.assert(after.options))).status, 303, 'the real key goes on working');
});

t.test('options: CSRF and a live interaction required; JSON errors', async (t) => {
  const page = await loginPage();
  const forged = await page.ua.request(`${gh.issuer}/interaction/${page.uid}/passkey/options`, { json: { csrf: 'nope' } });
  t.equal(forged.status, 403);
  t.equal(JSON.parse(forged.body).error, 'access_denied');
  const stranger = await new UserAgent().request(`${gh.issuer}/interaction/${page.uid}/passkey/options`, { json: { csrf: page.csrf } });
  t.equal(stranger.status, 400, 'another browser has no such interaction');
  t.equal(JSON.parse(stranger.body).error, 'interaction_expired');
  const extra = await page.ua.request(`${gh.issuer}/interaction/${page.uid}/passkey/options`, { json: { csrf: page.csrf, userId: 'x' } });
  t.equal(extra.status, 400, 'unknown fields refused');
  const noForm = await page.ua.request(`${gh.issuer}/interaction/${page.uid}/passkey`, { form: { csrf: 'nope', credential: '{}' } });
  t.equal(noForm.status, 403);
});

t.test('registration: session, CSRF, a fresh challenge and a true answer required', async (t) => {
  const other = softAuthenticator(rpId, origin);
  const anonymous = await new UserAgent().request(`${gh.issuer}/account/passkeys/options`, { json: { csrf: owner.csrf } });
  t.equal(anonymous.status, 401);
  t.equal(JSON.parse(anonymous.body).error, 'login_required');
  const forged = await owner.ua.request(`${gh.issuer}/account/passkeys/options`, { json: { csrf: 'nope' } });
  t.equal(forged.status, 403);

  const options = JSON.parse((await owner.ua.request(`${gh.issuer}/account/passkeys/options`, { json: { csrf: owner.csrf } })).body);
  t.equal(options.attestation, 'none');
  t.match(options.authenticatorSelection, { residentKey: 'required', userVerification: 'required' });
  t.same(options.excludeCredentials.map((c: { id: string }) => c.id), [key.credentialId], 'registered ones excluded');
  const wrongOrigin = await owner.ua.request(`${gh.issuer}/account/passkeys`, { form: { csrf: owner.csrf, name: 'x', credential: other.register(options, { origin: 'https://evil.example' }) } });
  t.equal(wrongOrigin.status, 400);
  t.match(wrongOrigin.body, /did not work/);
  const replayed = await owner.ua.request(`${gh.issuer}/account/passkeys`, { form: { csrf: owner.csrf, name: 'x', credential: other.register(options) } });
  t.equal(replayed.status, 400, 'the challenge went with the failed attempt');
  const garbage = await owner.ua.request(`${gh.issuer}/account/passkeys`, { form: { csrf: owner.csrf, name: 'x', credential: '{"id":' } });
  t.equal(garbage.status, 400);
  t.same((await gh.services.passkeys.listByUser(user.id)).map((p) => p.name), ['Laptop'], 'nothing stored');

  // Another account's challenge (its session) cannot register onto this one.
  await createVerifiedUser(gh.services, 'other@example.com', PASSWORD);
  const second = await accountSession('other@example.com');
  const theirOptions = JSON.parse((await second.ua.request(`${gh.issuer}/account/passkeys/options`, { json: { csrf: second.csrf } })).body);
  const stolen = await owner.ua.request(`${gh.issuer}/account/passkeys`, { form: { csrf: owner.csrf, credential: other.register(theirOptions) } });
  t.equal(stolen.status, 400, 'bound to the session that asked');

  // A synced (backup-eligible) passkey, unnamed: amr swk, and a default name.
  const synced = softAuthenticator(rpId, origin, { backupEligible: true });
  const fresh = JSON.parse((await owner.ua.request(`${gh.issuer}/account/passkeys/options`, { json: { csrf: owner.csrf } })).body);
  t.equal((await owner.ua.request(`${gh.issuer}/account/passkeys`, { form: { csrf: owner.csrf, credential: synced.register(fresh) } })).status, 303);
  const stored = await gh.services.passkeys.find(synced.credentialId);
  t.match(stored, { name: 'Passkey 2', deviceType: 'multiDevice', backedUp: true });
  const page = await loginPage();
  t.equal((await post(page, synced.assert(page.options))).status, 303);
  const success = await gh.services.auditStore.query({ type: 'login.succeeded', limit: 1 });
  t.match(success[0]!.detail, { method: 'passkey', amr: 'swk user mfa' });
  await gh.services.passkeys.remove(user.id, synced.credentialId);
});

t.test("rename and remove: only the signed-in owner's own passkeys", async (t) => {
  const other = await accountSession('other@example.com');
  const id = key.credentialId;
  t.equal((await other.ua.request(`${gh.issuer}/account/passkeys/${id}/remove`, { form: { csrf: other.csrf } })).status, 404, "someone else's passkey");
  t.equal((await other.ua.request(`${gh.issuer}/account/passkeys/${id}/rename`, { form: { csrf: other.csrf, name: 'Mine now' } })).status, 404);
  t.equal((await owner.ua.request(`${gh.issuer}/account/passkeys/${id}/remove`, { form: { csrf: 'nope' } })).status, 403, 'CSRF');
  t.equal((await new UserAgent().request(`${gh.issuer}/account/passkeys/${id}/remove`, { form: { csrf: owner.csrf } })).status, 401, 'no session');
  t.equal((await owner.ua.request(`${gh.issuer}/account/passkeys/${id}/rename`, { form: { csrf: owner.csrf, name: '  Work\u0007 laptop  ' } })).status, 303);
  t.equal((await gh.services.passkeys.find(id))?.name, 'Work laptop', 'trimmed, control characters dropped');
  t.equal((await owner.ua.request(`${gh.issuer}/account/passkeys/${id}/remove`, { form: { csrf: owner.csrf } })).status, 303);
  t.equal(await gh.services.passkeys.find(id), undefined);
  const removed = await gh.services.auditStore.query({ type: 'passkey.removed', limit: 5 });
  t.equal(removed[0]?.userId, user.id);
});

t.test('deleting the account deletes its passkeys', async (t) => {
  await createVerifiedUser(gh.services, 'leaving@example.com', PASSWORD);
  const leaving = softAuthenticator(rpId, origin);
  const session = await registerPasskey('leaving@example.com', leaving);
  t.ok(await gh.services.passkeys.find(leaving.credentialId));
  t.equal((await session.ua.request(`${gh.issuer}/account/delete`, { form: { csrf: session.csrf, password: PASSWORD } })).status, 303);
  t.equal(await gh.services.passkeys.find(leaving.credentialId), undefined);
});

t.test('failed passkey answers count like wrong passwords: after LOGIN_FREE_ATTEMPTS the next one waits', async (t) => {
  await createVerifiedUser(gh.services, 'guarded@example.com', PASSWORD);
  const guarded = softAuthenticator(rpId, origin);
  await registerPasskey('guarded@example.com', guarded);
  for (let i = 0; i < gh.config.guard.freeAttempts; i++) {
    const page = await loginPage();
    t.equal((await post(page, guarded.assert(page.options, { forgeSignature: true }))).status, 401, `failure ${i + 1}`);
  }
  const page = await loginPage();
  const waited = await post(page, guarded.assert(page.options));
  t.equal(waited.status, 429, 'even the right passkey waits now');
  t.ok(Number(waited.headers.get('retry-after')) > 0, 'Retry-After');
  t.match(waited.body, /Too many sign-in attempts/);
  const throttled = await gh.services.auditStore.query({ type: 'login.throttled', email: 'guarded@example.com', limit: 5 });
  t.match(throttled[0]?.detail, { method: 'passkey', reason: 'throttled' });
  clock.advance(Number(waited.headers.get('retry-after')));
  const later = await loginPage();
  t.equal((await post(later, guarded.assert(later.options))).status, 303, 'after the wait it signs in');
});

t.test('an unconfirmed address: the right passkey is refused as the right password would be', async (t) => {
  const pending = await createVerifiedUser(gh.services, 'pending@example.com', PASSWORD);
  const pendingKey = softAuthenticator(rpId, origin);
  await registerPasskey('pending@example.com', pendingKey);
  await gh.services.users.update(pending.id, { emailVerifiedAt: null });
  const page = await loginPage();
  const res = await post(page, pendingKey.assert(page.options));
  t.equal(res.status, 403);
  t.match(res.body, /Confirm your email address first/);
  const failed = await gh.services.auditStore.query({ type: 'login.failed', email: 'pending@example.com', limit: 1 });
  t.match(failed[0]?.detail, { method: 'passkey', reason: 'unverified' });
});

t.test('a passkey sign-in from a banned IP is refused', async (t) => {
  const fresh = softAuthenticator(rpId, origin);
  await registerPasskey('other@example.com', fresh);
  const page = await loginPage();
  await gh.services.ipBans.put({ cidr: '127.0.0.1/32', reason: 'test', createdAt: clock.now(), expiresAt: null });
  clock.advance(3); // past the two-second ban cache
  const res = await post(page, fresh.assert(page.options));
  t.equal(res.status, 403);
  t.notOk(res.location, 'not signed in');
  t.equal((await gh.services.passkeys.find(fresh.credentialId))?.lastUsedAt, null, 'never reached the passkey');
});

void oidc;
