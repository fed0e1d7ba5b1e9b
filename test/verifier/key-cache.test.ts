import t, { type Test } from 'tap';
import { createVerifier, VerifierError, type VerifierOptions } from '../../src/verifier/index.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { accessToken, API, startFakeIssuer, testKey, type FakeIssuer } from '../helpers/fake-issuer.ts';

/**
 * The key cache, driven through rotations, floods and outages against an issuer the test controls
 * and counts, with a clock the test moves (no sleeping). Defaults: cache 10 min, cooldown 30 s,
 * stale-if-error 1 h.
 */
const COOLDOWN_S = 30;
const MAX_AGE_S = 600;
const STALE_S = 3600;

async function setup(t: Test, options: Partial<VerifierOptions> = {}) {
  const fake = await startFakeIssuer(t);
  const key = await testKey();
  fake.published = [key.jwk];
  // One clock for the tokens and every verifier of a test: fixed, so no date can make it fail.
  const clock = steppableClock(FIXED_START);
  const verifier = createVerifier({ issuer: fake.issuer, audience: API, clock, ...options });
  const token = await accessToken(fake.issuer, key, clock.now());
  return { fake, key, clock, verifier, token };
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'verified',
    (err: unknown) => (err instanceof VerifierError ? err.code : `not a VerifierError: ${String(err)}`),
  );

const hits = (fake: FakeIssuer) => ({ ...fake.hits });

t.test('discovery once, the key set once per cacheMaxAge', async (t) => {
  const { fake, clock, verifier, token } = await setup(t);
  t.same(hits(fake), { discovery: 0, jwks: 0 }, 'nothing is fetched before the first token');
  await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token)));
  for (let i = 0; i < 50; i++) await verifier.verify(token);
  t.same(hits(fake), { discovery: 1, jwks: 1 }, '100 verifications (50 concurrent): one discovery, one JWKS fetch');

  clock.advance(MAX_AGE_S - 1);
  await verifier.verify(token);
  t.same(hits(fake), { discovery: 1, jwks: 1 }, 'still fresh just before cacheMaxAge');
  clock.advance(1);
  await verifier.verify(token);
  t.same(hits(fake), { discovery: 1, jwks: 2 }, 'refetched at cacheMaxAge; discovery is not repeated');
});

t.test('a flood of unknown kids fetches the key set at most once per cooldown (no amplification)', async (t) => {
  const { fake, key, clock, verifier, token } = await setup(t);
  await verifier.verify(token);
  t.equal(fake.hits.jwks, 1);

  const strangers = await Promise.all(Array.from({ length: 20 }, () => testKey()));
  const forged = await Promise.all(strangers.map((s, i) => accessToken(fake.issuer, s, clock.now(), { jti: `f${i}` })));
  const flood = async (n: number) => {
    const codes = await Promise.all(Array.from({ length: n }, (_, i) => codeOf(verifier.verify(forged[i % forged.length]))));
    for (let i = 0; i < n; i++) codes.push(await codeOf(verifier.verify(forged[i % forged.length])));
    return new Set(codes);
  };

  t.same(await flood(200), new Set(['ERR_TOKEN_SIGNATURE']), 'every forged token is refused');
  t.equal(fake.hits.jwks, 1, 'within the cooldown of the first fetch: no fetch at all');

  clock.advance(COOLDOWN_S);
  t.same(await flood(200), new Set(['ERR_TOKEN_SIGNATURE']));
  t.equal(fake.hits.jwks, 2, 'cooldown over: 400 unknown kids (200 at once) cost exactly one fetch');

  clock.advance(COOLDOWN_S - 1);
  await flood(100);
  t.equal(fake.hits.jwks, 2, 'not again before the next cooldown ends');
  clock.advance(1);
  await flood(100);
  t.equal(fake.hits.jwks, 3);

  t.equal(await codeOf(verifier.verify(token)), 'verified', 'real tokens verified all along');
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, key, clock.now()))), 'verified');
  t.equal(fake.hits.discovery, 1);
});

t.test('a key published later (rotation) verifies without a restart', async (t) => {
  const { fake, clock, verifier, token } = await setup(t);
  await verifier.verify(token);
  // Gatehouse publishes the next key before it signs with it (`key_ops: ["verify"]` while not signing).
  const next = await testKey(undefined, { key_ops: ['verify'] });
  fake.published = [...fake.published, next.jwk];
  const signedByNext = await accessToken(fake.issuer, next, clock.now());

  clock.advance(COOLDOWN_S);
  t.equal(await codeOf(verifier.verify(signedByNext)), 'verified', 'the unknown kid made it fetch the key set again');
  t.equal(fake.hits.jwks, 2);
  t.equal(await codeOf(verifier.verify(token)), 'verified', 'the old key still verifies');

  // The old key is removed from the JWKS: its tokens stop verifying once the cache is refreshed.
  fake.published = [next.jwk];
  clock.advance(MAX_AGE_S);
  t.equal(await codeOf(verifier.verify(token)), 'ERR_TOKEN_SIGNATURE');
  t.equal(await codeOf(verifier.verify(signedByNext)), 'verified');
});

t.test('cooldownDuration sets the least time between two fetches', async (t) => {
  const { fake, clock, verifier, token } = await setup(t, { cooldownDuration: 5_000 });
  await verifier.verify(token);
  const next = await testKey();
  fake.published = [...fake.published, next.jwk];
  const signedByNext = await accessToken(fake.issuer, next, clock.now());
  clock.advance(4);
  t.equal(await codeOf(verifier.verify(signedByNext)), 'ERR_TOKEN_SIGNATURE', '4 s after the last fetch: not fetched again');
  t.equal(fake.hits.jwks, 1);
  clock.advance(1);
  t.equal(await codeOf(verifier.verify(signedByNext)), 'verified', '5 s after it: fetched, the new key found');
  t.equal(fake.hits.jwks, 2);
});

t.test('a key removed from the JWKS stops verifying at the next fetch, even for tokens seen before', async (t) => {
  const { fake, clock, verifier, token } = await setup(t);
  for (let i = 0; i < 3; i++) t.equal(await codeOf(verifier.verify(token)), 'verified', 'seen and verified (its header is remembered)');
  const next = await testKey();
  fake.published = [next.jwk]; // the old key revoked, a new one published
  clock.advance(COOLDOWN_S);
  // An unknown kid makes the verifier fetch the new set well before cacheMaxAge.
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, next, clock.now()))), 'verified');
  t.equal(fake.hits.jwks, 2);
  t.equal(await codeOf(verifier.verify(token)), 'ERR_TOKEN_SIGNATURE', 'the old key is gone with the old key set');
});

for (const outage of ['error', 'down'] as const) {
  t.test(`serve stale while Gatehouse is unreachable (${outage === 'error' ? 'HTTP 503' : 'connection dropped'})`, async (t) => {
    const { fake, key, clock, verifier, token } = await setup(t);
    await verifier.verify(token);
    fake.mode = outage;
    clock.advance(MAX_AGE_S);

    t.equal(await codeOf(verifier.verify(token)), 'verified', 'past cacheMaxAge, the refetch fails: the last good keys still verify');
    t.equal(fake.hits.jwks, 2, 'one refetch was tried');
    for (let i = 0; i < 100; i++) await verifier.verify(token);
    t.equal(fake.hits.jwks, 2, 'and no other within the cooldown');

    const unknown = await accessToken(fake.issuer, await testKey(), clock.now());
    const err = await verifier.verify(unknown).catch((e: unknown) => e);
    t.match(err, { code: 'ERR_KEYS_UNAVAILABLE', status: 503, wwwAuthenticate: undefined }, 'an unknown kid cannot be checked now: 503, not the token’s fault');
    t.equal(fake.hits.jwks, 2);

    clock.advance(COOLDOWN_S);
    t.equal(await codeOf(verifier.verify(token)), 'verified');
    t.equal(fake.hits.jwks, 3, 'one more attempt after the cooldown');

    clock.advance(STALE_S - COOLDOWN_S - 1);
    t.equal(await codeOf(verifier.verify(token)), 'verified', 'still within staleIfError');
    clock.advance(1);
    const gone = await verifier.verify(token).catch((e: unknown) => e);
    t.match(gone, { code: 'ERR_KEYS_UNAVAILABLE', status: 503 }, 'past cacheMaxAge + staleIfError: fail closed');
    t.ok((gone as Error).cause instanceof Error, 'the cause is kept for the logs');

    fake.mode = 'up';
    clock.advance(COOLDOWN_S);
    t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, key, clock.now()))), 'verified', 'back once Gatehouse is');
  });
}

t.test('staleIfError 0 fails closed as soon as the cache is too old and a fetch fails', async (t) => {
  const { fake, clock, verifier, token } = await setup(t, { staleIfError: 0 });
  await verifier.verify(token);
  fake.mode = 'error';
  clock.advance(MAX_AGE_S);
  t.equal(await codeOf(verifier.verify(token)), 'ERR_KEYS_UNAVAILABLE');
});

t.test('Gatehouse down at start: 503, one attempt per cooldown, then recovery', async (t) => {
  const { fake, clock, verifier, token } = await setup(t);
  fake.mode = 'down';
  const first = await verifier.verify(token).catch((e: unknown) => e);
  t.match(first, { code: 'ERR_KEYS_UNAVAILABLE', status: 503 });
  t.match((first as Error).cause, Error, 'the network error is the cause');
  await Promise.all(Array.from({ length: 100 }, () => codeOf(verifier.verify(token))));
  t.same(hits(fake), { discovery: 1, jwks: 0 }, '101 requests during the outage: one discovery attempt');

  clock.advance(COOLDOWN_S);
  fake.mode = 'up';
  t.equal(await codeOf(verifier.verify(token)), 'verified', 'discovery is retried after the cooldown');
  t.same(hits(fake), { discovery: 2, jwks: 1 });
});

t.test('discovery is verified: a metadata document naming another issuer is refused', async (t) => {
  const { fake, clock, verifier, token } = await setup(t);
  fake.metadataIssuer = 'https://evil.example.com';
  const err = await verifier.verify(token).catch((e: unknown) => e);
  t.match(err, { code: 'ERR_KEYS_UNAVAILABLE' });
  t.match(String((err as Error).cause), /names issuer "https:\/\/evil\.example\.com"/);
  t.equal(fake.hits.jwks, 0, 'its jwks_uri is never fetched');
  fake.metadataIssuer = undefined;
  clock.advance(COOLDOWN_S);
  t.equal(await codeOf(verifier.verify(token)), 'verified');
});

t.test('a key set that is not a JWK Set counts as a failed fetch', async (t) => {
  const { fake, clock, verifier, token } = await setup(t);
  fake.mode = 'garbage';
  t.equal(await codeOf(verifier.verify(token)), 'ERR_KEYS_UNAVAILABLE');
  fake.mode = 'up';
  clock.advance(COOLDOWN_S);
  t.equal(await codeOf(verifier.verify(token)), 'verified');
});

t.test('jwksUri skips discovery', async (t) => {
  const { fake, clock, token } = await setup(t);
  // The same clock the token was minted on: this test is about discovery, not about time.
  const direct = createVerifier({ issuer: fake.issuer, audience: API, jwksUri: fake.jwksUri, clock });
  t.equal(await codeOf(direct.verify(token)), 'verified');
  t.same(hits(fake), { discovery: 0, jwks: 1 });
});

t.test('keys not meant for verifying signatures are never used', async (t) => {
  const { fake, clock, verifier, token } = await setup(t);
  const enc = await testKey(undefined, { use: 'enc' });
  const signOnly = await testKey(undefined, { key_ops: ['sign'] });
  fake.published = [...fake.published, enc.jwk, signOnly.jwk];
  t.equal(await codeOf(verifier.verify(token)), 'verified');
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, enc, clock.now()))), 'ERR_TOKEN_SIGNATURE', 'use: enc');
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, signOnly, clock.now()))), 'ERR_TOKEN_SIGNATURE', 'key_ops without verify');
});

t.test('a token without kid while two keys are published: each candidate is tried', async (t) => {
  const { fake, key, clock, verifier } = await setup(t);
  const second = await testKey();
  fake.published = [key.jwk, second.jwk];
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, second, clock.now(), {}, { kid: undefined }))), 'verified', 'the second key');
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, key, clock.now(), {}, { kid: undefined }))), 'verified', 'the first key');
  const stranger = await testKey();
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, stranger, clock.now(), {}, { kid: undefined }))), 'ERR_TOKEN_SIGNATURE');
  t.equal(await codeOf(verifier.verify(await accessToken(fake.issuer, second, clock.now(), { aud: 'https://elsewhere' }, { kid: undefined }))), 'ERR_TOKEN_AUDIENCE', 'claims are still checked');
});
