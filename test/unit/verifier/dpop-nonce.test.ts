import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import * as jose from 'jose';
import t from 'tap';
import { createDpopChecker } from '../../../src/verifier/dpop.ts';
import { createDpopNonces } from '../../../src/verifier/dpop-nonce.ts';
import { createVerifier, gatehouseAuth, requireToken, VerifierError, VerifierOptionsError } from '../../../src/verifier/index.ts';
import { FIXED_START, steppableClock } from '../../helpers/clock.ts';
import { accessToken, API, startFakeIssuer, testKey } from '../../helpers/fake-issuer.ts';

/** Resource-server DPoP nonces (RFC 9449 §9): stateless HMAC nonces with a lifetime, a stepped clock. */
const URL_ = 'https://api.example.com/orders';
const SECRET = new Uint8Array(32).fill(7);

t.test('a nonce is valid for its lifetime, under its secret only, and cannot be forged or altered', async (t) => {
  const clock = steppableClock(FIXED_START);
  const nonces = createDpopNonces({ secret: SECRET, lifetime: 300, clockTolerance: 5, now: () => clock.now().getTime() });
  const n = nonces.issue();
  t.match(n, /^[A-Za-z0-9_-]{32}$/, 'base64url, within the NQCHAR set');
  t.ok(nonces.valid(n));
  const replica = createDpopNonces({ secret: SECRET, lifetime: 300, clockTolerance: 5, now: () => clock.now().getTime() });
  t.ok(replica.valid(n), 'another process with the same secret accepts it');
  const stranger = createDpopNonces({ secret: new Uint8Array(32).fill(8), lifetime: 300, clockTolerance: 5, now: () => clock.now().getTime() });
  t.notOk(stranger.valid(n), 'another secret does not');
  const raw = Buffer.from(n, 'base64url');
  raw[7] = raw[7]! ^ 1;
  t.notOk(nonces.valid(raw.toString('base64url')), 'a changed time is refused');
  for (const bad of [undefined, 42, '', 'x'.repeat(32), `${n}A`, n.slice(1)]) t.notOk(nonces.valid(bad), `refused: ${String(bad)}`);

  clock.advance(300);
  t.ok(nonces.valid(n), 'still valid at the end of its lifetime');
  clock.advance(6);
  t.notOk(nonces.valid(n), 'then refused');
  const ahead = createDpopNonces({ secret: SECRET, lifetime: 300, clockTolerance: 5, now: () => clock.now().getTime() + 60_000 }).issue();
  t.notOk(nonces.valid(ahead), 'a nonce from the future (beyond the tolerance) is refused');
});

t.test('the proof checker with nonces: missing or stale is use_nonce, and such a proof is not remembered', async (t) => {
  const clock = steppableClock(FIXED_START);
  const now = () => clock.now().getTime();
  const nonces = createDpopNonces({ secret: SECRET, lifetime: 60, clockTolerance: 5, now });
  const checker = createDpopChecker({ algorithms: ['ES256'], window: 60, clockTolerance: 5, maxReplayEntries: 100, now, nonces });
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const jwk = await jose.exportJWK(publicKey);
  const jkt = await jose.calculateJwkThumbprint(jwk);
  const TOKEN = 'the.access.token';
  const ath = createHash('sha256').update(TOKEN).digest('base64url');
  const proof = (claims: Record<string, unknown> = {}) =>
    new jose.SignJWT({ htm: 'GET', htu: URL_, iat: Math.floor(now() / 1000), jti: 'proof-1', ath, ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).sign(privateKey);
  const check = async (p: string) => (await checker.check({ method: 'GET', url: URL_, proof: p, accessToken: TOKEN, jkt })) ?? 'ok';

  t.equal(await check(await proof()), 'use_nonce', 'no nonce');
  t.equal(await check(await proof({ nonce: 'made-up' })), 'use_nonce', 'a nonce it did not issue');
  const stale = nonces.issue();
  clock.advance(70);
  t.equal(await check(await proof({ nonce: stale })), 'use_nonce', 'an expired nonce');
  const fresh = nonces.issue();
  t.equal(await check(await proof({ nonce: fresh })), 'ok', 'the same jti with a fresh nonce: the refused proof was not remembered');
  t.equal(await check(await proof({ nonce: fresh })), 'replayed', 'the replay cache still applies');
  t.equal(await check(await proof({ nonce: fresh, htm: 'POST', jti: 'proof-2' })), 'invalid', 'the other checks still apply');
});

t.test('verifyRequest() and the fastify plugin: 401 use_dpop_nonce with a DPoP-Nonce header; the retry passes', async (t) => {
  const fake = await startFakeIssuer(t);
  const key = await testKey();
  fake.published = [key.jwk];
  const clock = steppableClock(FIXED_START);
  const dpopKey = await jose.generateKeyPair('ES256');
  const dpopJwk = await jose.exportJWK(dpopKey.publicKey);
  const token = await accessToken(fake.issuer, key, clock.now(), { cnf: { jkt: await jose.calculateJwkThumbprint(dpopJwk) } });
  const ath = createHash('sha256').update(token).digest('base64url');
  const proof = (url: string, nonce?: string) =>
    new jose.SignJWT({ htm: 'GET', htu: url, iat: Math.floor(clock.now().getTime() / 1000), jti: crypto.randomUUID(), ath, ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopJwk })
      .sign(dpopKey.privateKey);

  const verifier = createVerifier({ issuer: fake.issuer, audience: API, clock, revocation: false, dpop: { nonce: { secret: 'a shared secret of at least 32 bytes!!' } } });
  const request = async (nonce?: string) => ({ method: 'GET', url: URL_, headers: { authorization: `DPoP ${token}`, dpop: await proof(URL_, nonce) } });
  const err = await verifier.verifyRequest(await request()).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof VerifierError);
  const refused = err as VerifierError;
  t.match(refused, { code: 'ERR_DPOP_NONCE_REQUIRED', status: 401, error: 'use_dpop_nonce' });
  t.match(refused.wwwAuthenticate, /^DPoP error="use_dpop_nonce", error_description="[^"]+", algs="/);
  t.match(refused.dpopNonce, /^[A-Za-z0-9_-]{32}$/);
  t.match(await verifier.verifyRequest(await request(refused.dpopNonce)), { sub: 'job' }, 'the retry with the nonce passes');
  const other = createVerifier({ issuer: fake.issuer, audience: API, clock, revocation: false, dpop: { nonce: true } });
  await t.rejects(other.verifyRequest(await request(refused.dpopNonce)), { code: 'ERR_DPOP_NONCE_REQUIRED' }, "another verifier's random secret refuses it");
  const plain = createVerifier({ issuer: fake.issuer, audience: API, clock, revocation: false });
  t.match(await plain.verifyRequest(await request()), { sub: 'job' }, 'without the option no nonce is asked for');

  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(gatehouseAuth, { verifier });
  app.get('/orders', { onRequest: requireToken() }, async (req) => ({ sub: req.auth!.sub }));
  const htu = 'http://localhost:80/orders';
  const first = await app.inject({ method: 'GET', url: '/orders', headers: { authorization: `DPoP ${token}`, dpop: await proof(htu) } });
  t.equal(first.statusCode, 401);
  t.match(first.headers['www-authenticate'], /^DPoP error="use_dpop_nonce"/);
  t.match(first.json(), { error: 'use_dpop_nonce', code: 'ERR_DPOP_NONCE_REQUIRED' });
  const nonce = first.headers['dpop-nonce'] as string;
  t.match(nonce, /^[A-Za-z0-9_-]{32}$/);
  const second = await app.inject({ method: 'GET', url: '/orders', headers: { authorization: `DPoP ${token}`, dpop: await proof(htu, nonce) } });
  t.equal(second.statusCode, 200, second.body);
});

t.test('options are checked', async (t) => {
  const fake = await startFakeIssuer(t);
  for (const nonce of [{ secret: 'short' }, { secret: 42 }, { lifetime: 0 }, 'yes']) {
    t.throws(() => createVerifier({ issuer: fake.issuer, audience: API, dpop: { nonce: nonce as never } }), VerifierOptionsError, JSON.stringify(nonce));
  }
});
