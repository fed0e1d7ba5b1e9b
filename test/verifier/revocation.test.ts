import t, { type Test } from 'tap';
import { createVerifier, VerifierError, type VerifierOptions } from '../../src/verifier/index.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { accessToken, API, startFakeIssuer, testKey } from '../helpers/fake-issuer.ts';
import { waitUntil } from '../helpers/wait-until.ts';

/**
 * The verifier's use of the revocation feed, against an issuer the test controls: what is refused,
 * that verify() makes no request of its own, stale-if-error and the fail-closed / fail-open choice.
 * The staleness is judged by the injected clock (stepped, never slept); polls run on real timers with
 * a short interval, and the test waits for them by count.
 */
const POLL_MS = 100;
const MAX_STALE_MS = 60_000;

async function setup(t: Test, revocation: VerifierOptions['revocation'] = {}) {
  const fake = await startFakeIssuer(t);
  const key = await testKey();
  fake.published = [key.jwk];
  const clock = steppableClock(FIXED_START);
  fake.feed = { key, entries: { subjects: [], grants: [], tokens: [] }, now: () => clock.now(), mode: 'up' };
  const verifier = createVerifier({
    issuer: fake.issuer,
    audience: API,
    clock,
    revocation: revocation === false ? false : { pollInterval: POLL_MS, maxStale: MAX_STALE_MS, ...revocation },
  });
  t.teardown(() => verifier.close());
  const polled = async (n = 2) => {
    const start = fake.hits.feed ?? 0;
    await waitUntil(() => (fake.hits.feed ?? 0) >= start + n, `${n} more polls of the feed`, 10_000, 10);
  };
  return { fake, key, clock, verifier, polled };
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'verified',
    (err: unknown) => (err instanceof VerifierError ? err.code : `not a VerifierError: ${String(err)}`),
  );

t.test('a listed subject (before its cut-off), grant or jti is refused; everyone else is not', async (t) => {
  const { fake, key, clock, verifier, polled } = await setup(t);
  const iat = Math.floor(clock.now().getTime() / 1000);
  const alice = await accessToken(fake.issuer, key, clock.now(), { sub: 'alice', gh_grant: 'g-alice' });
  const bob = await accessToken(fake.issuer, key, clock.now(), { sub: 'bob', gh_grant: 'g-bob', jti: 'jti-bob' });
  const carol = await accessToken(fake.issuer, key, clock.now(), { sub: 'carol', gh_grant: 'g-carol' });
  t.equal(await codeOf(verifier.verify(alice)), 'verified');

  fake.feed!.entries = { subjects: [{ sub: 'alice', not_before: iat + 1 }], grants: [], tokens: [] };
  await polled();
  t.equal(await codeOf(verifier.verify(alice)), 'ERR_TOKEN_REVOKED');
  const later = await accessToken(fake.issuer, key, new Date(clock.now().getTime() + 1000), { sub: 'alice' });
  t.equal(await codeOf(verifier.verify(later)), 'verified', 'a token issued at or after the cut-off is fine');
  t.equal(await codeOf(verifier.verify(bob)), 'verified');

  fake.feed!.entries = { subjects: [], grants: ['g-carol'], tokens: ['jti-bob'] };
  await polled();
  t.equal(await codeOf(verifier.verify(bob)), 'ERR_TOKEN_REVOKED', 'by jti');
  t.equal(await codeOf(verifier.verify(carol)), 'ERR_TOKEN_REVOKED', 'by grant');
  t.equal(await codeOf(verifier.verify(alice)), 'verified', 'the entry dropped out');

  const err = await verifier.verify(`Bearer ${carol}`).catch((e: unknown) => e as VerifierError);
  t.match(err, { status: 401, error: 'invalid_token', wwwAuthenticate: 'Bearer error="invalid_token", error_description="The access token has been revoked"' });
});

t.test('verify() reads memory: no request of its own once the first feed is in', async (t) => {
  const { fake, key, clock, verifier } = await setup(t, { pollInterval: 60_000 });
  const token = await accessToken(fake.issuer, key, clock.now());
  await verifier.verify(token);
  const before = { ...fake.hits };
  for (let i = 0; i < 200; i++) await verifier.verify(token);
  t.same(fake.hits, before);
  t.equal(before.feed, 1, 'the first verify() waited for one poll');
});

t.test('stale if error for pollInterval + maxStale, then closed by default', async (t) => {
  const { fake, key, clock, verifier, polled } = await setup(t);
  const token = await accessToken(fake.issuer, key, clock.now());
  t.equal(await codeOf(verifier.verify(token)), 'verified');
  fake.feed!.mode = 'error';
  await polled();
  clock.advance((POLL_MS + MAX_STALE_MS) / 1000);
  t.equal(await codeOf(verifier.verify(token)), 'verified', 'the last good feed, at the bound');
  clock.advance(1);
  const err = await verifier.verify(token).catch((e: unknown) => e as VerifierError);
  t.match(err, { code: 'ERR_REVOCATION_UNAVAILABLE', status: 503, error: 'temporarily_unavailable', wwwAuthenticate: undefined });
  fake.feed!.mode = 'up';
  await polled();
  t.equal(await codeOf(verifier.verify(token)), 'verified', 'back once a poll succeeds');
});

t.test("onUnavailable: 'open' accepts on signature and claims alone", async (t) => {
  const { fake, key, clock, verifier, polled } = await setup(t, { onUnavailable: 'open' });
  const token = await accessToken(fake.issuer, key, clock.now(), { jti: 'listed' });
  fake.feed!.entries.tokens = ['listed'];
  t.equal(await codeOf(verifier.verify(token)), 'ERR_TOKEN_REVOKED');
  fake.feed!.mode = 'error';
  await polled();
  clock.advance((POLL_MS + MAX_STALE_MS) / 1000 + 1);
  t.equal(await codeOf(verifier.verify(token)), 'verified', 'failed open (as configured)');
});

t.test('a feed that is not signed as a feed is never taken', async (t) => {
  const { fake, key, clock, verifier, polled } = await setup(t);
  fake.feed!.typ = 'at+jwt';
  const token = await accessToken(fake.issuer, key, clock.now());
  t.equal(await codeOf(verifier.verify(token)), 'ERR_REVOCATION_UNAVAILABLE');
  const forger = await testKey(key.kid);
  fake.feed = { ...fake.feed!, key: forger, typ: undefined };
  await polled();
  t.equal(await codeOf(verifier.verify(token)), 'ERR_REVOCATION_UNAVAILABLE', 'signed by a key the issuer does not publish');
});

t.test('off when the issuer advertises no feed, or with revocation: false', async (t) => {
  const fake = await startFakeIssuer(t);
  const key = await testKey();
  fake.published = [key.jwk];
  const clock = steppableClock(FIXED_START);
  const auto = createVerifier({ issuer: fake.issuer, audience: API, clock });
  t.teardown(() => auto.close());
  t.equal(await codeOf(auto.verify(await accessToken(fake.issuer, key, clock.now()))), 'verified');
  const { fake: withFeed, key: k2, clock: c2, verifier: off } = await setup(t, false);
  withFeed.feed!.entries.tokens = ['x'];
  t.equal(await codeOf(off.verify(await accessToken(withFeed.issuer, k2, c2.now(), { jti: 'x' }))), 'verified');
  t.equal(withFeed.hits.feed, undefined, 'never asked');
});
