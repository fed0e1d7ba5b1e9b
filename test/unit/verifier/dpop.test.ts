import { createHash } from 'node:crypto';
import * as jose from 'jose';
import t from 'tap';
import { createDpopChecker, normalizeHtu } from '../../../src/verifier/dpop.ts';
import { FIXED_START, steppableClock } from '../../helpers/clock.ts';

/** The proof checks one by one, with a stepped clock and proofs built by hand (RFC 9449 §4.2). */
const URL_ = 'https://api.example.com/orders';
const TOKEN = 'the.access.token';
const ath = createHash('sha256').update(TOKEN).digest('base64url');

async function setup(maxReplayEntries = 100) {
  const clock = steppableClock(FIXED_START);
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  const jkt = await jose.calculateJwkThumbprint(jwk);
  const checker = createDpopChecker({ algorithms: ['ES256'], window: 60, clockTolerance: 5, maxReplayEntries, now: () => clock.now().getTime() });
  const iat = () => Math.floor(clock.now().getTime() / 1000);
  const proof = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    new jose.SignJWT({ htm: 'GET', htu: URL_, iat: iat(), jti: crypto.randomUUID(), ath, ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...header })
      .sign(privateKey);
  const check = async (p: string | string[] | undefined, over: Partial<{ method: string; url: string; token: string; jkt: string }> = {}) =>
    (await checker.check({ method: over.method ?? 'GET', url: over.url ?? URL_, proof: p, accessToken: over.token ?? TOKEN, jkt: over.jkt ?? jkt })) ?? 'ok';
  return { clock, proof, check, privateKey, jwk };
}

t.test('a good proof passes once; the same proof again is a replay', async (t) => {
  const { proof, check } = await setup();
  const p = await proof();
  t.equal(await check(p), 'ok');
  t.equal(await check(p), 'replayed');
  t.equal(await check(await proof(), { url: `${URL_}?page=2` }), 'ok', 'the query is not part of htu');
});

t.test('each claim and header is checked', async (t) => {
  const { clock, proof, check, privateKey, jwk } = await setup();
  t.equal(await check(undefined), 'missing');
  t.equal(await check([await proof(), await proof()]), 'invalid', 'two DPoP headers');
  t.equal(await check(await proof({ htm: 'POST' })), 'invalid', 'htm');
  t.equal(await check(await proof({ htu: 'https://api.example.com/other' })), 'invalid', 'htu');
  t.equal(await check(await proof({ ath: 'x' })), 'invalid', 'ath');
  t.equal(await check(await proof({ ath: undefined })), 'invalid', 'no ath');
  t.equal(await check(await proof(), { jkt: 'another-thumbprint' }), 'wrong_key', 'cnf.jkt');
  t.equal(await check(await proof({}, { typ: 'JWT' })), 'invalid', 'typ');
  t.equal(await check(await proof({}, { jwk: { ...jwk, d: 'private' } })), 'invalid', 'a private key in the header');
  t.equal(await check(await proof({ iat: Math.floor(clock.now().getTime() / 1000) - 120 })), 'invalid', 'iat too old');
  t.equal(await check(await proof({ iat: Math.floor(clock.now().getTime() / 1000) + 60 })), 'invalid', 'iat in the future');
  const hs = await new jose.SignJWT({ htm: 'GET', htu: URL_, iat: 1, jti: 'x', ath }).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk }).sign(new Uint8Array(32));
  t.equal(await check(hs), 'invalid', 'HS256');
  const other = await jose.generateKeyPair('ES256');
  const forged = await new jose.SignJWT({ htm: 'GET', htu: URL_, iat: Math.floor(clock.now().getTime() / 1000), jti: 'y', ath })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .sign(other.privateKey);
  t.equal(await check(forged), 'invalid', 'signed by another key than its jwk');
  void privateKey;
});

t.test('the replay cache is bounded', async (t) => {
  const { proof, check } = await setup(3);
  const proofs = await Promise.all(Array.from({ length: 5 }, () => proof()));
  for (const p of proofs) t.equal(await check(p), 'ok');
  t.equal(await check(proofs[4]!), 'replayed', 'the newest are remembered');
  t.equal(await check(proofs[3]!), 'replayed');
});

t.test('htu normalisation', async (t) => {
  t.equal(normalizeHtu('HTTPS://API.example.com:443/a?b#c'), 'https://api.example.com/a');
  t.equal(normalizeHtu('ftp://x/'), undefined);
});
