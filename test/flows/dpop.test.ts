import Fastify from 'fastify';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { systemClock } from '../../src/lib/clock.ts';
import { gatehouseAuth, requireScope, requireToken } from '../../src/verifier/index.ts';
import type { DpopOptions } from '../../src/verifier/index.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { signIn, startAuthorization } from '../helpers/relying-party.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * DPoP (RFC 9449) end to end: openid-client gets a sender-constrained token from Gatehouse (with the
 * server's nonce), calls a fastify resource server that uses the verifier's plugin, and an attacker
 * who stole the token (and even a proof) gets nowhere: as a bearer token, with its own key, with a
 * replayed proof, or with a proof made for another method or URL — each refused with its error.
 */
const API = 'https://orders.example.com';

async function resourceServer(t: Test, issuer: string, dpop: DpopOptions = {}) {
  const app = Fastify();
  await app.register(gatehouseAuth, { issuer, audience: API, dpop });
  app.get('/orders', { onRequest: requireToken() }, async (request) => ({ sub: request.auth!.sub }));
  app.get('/other', { onRequest: requireToken() }, async () => ({ ok: true }));
  app.post('/orders', { onRequest: requireScope('orders:read') }, async () => ({ created: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

async function setup(t: Test) {
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock });
  await registerApi(gh.services, API, 'orders:read');
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const config = await oidc.discovery(new URL(gh.issuer), job.client_id, job.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
  // Every DPoP header the client sends, in order (what an attacker on the path could copy).
  const proofs: string[] = [];
  config[oidc.customFetch] = (url, options) => {
    const proof = new Headers(options.headers).get('dpop');
    if (proof) proofs.push(proof);
    return fetch(url, options as RequestInit);
  };
  const rs = await resourceServer(t, gh.issuer);
  return { gh, config, proofs, rs };
}

/** openid-client throws on a 401 with a challenge: the challenge, and the verifier's code from the body. */
const refusal = async (request: Promise<Response>) => {
  const err = (await request.then(
    () => undefined,
    (e: unknown) => e,
  )) as { cause?: Array<{ scheme: string; parameters: { error?: string } }>; response?: Response } | undefined;
  return { scheme: err?.cause?.[0]?.scheme, error: err?.cause?.[0]?.parameters.error, status: err?.response?.status, code: ((await err?.response?.json().catch(() => ({}))) as { code?: string } | undefined)?.code };
};

const call = async (url: string, init: { method?: string; authorization?: string; dpop?: string } = {}) => {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.authorization ? { authorization: init.authorization } : {}), ...(init.dpop ? { dpop: init.dpop } : {}) },
  });
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', body: (await res.json()) as { code?: string; error?: string } };
};

t.test('a DPoP-bound token from the token endpoint (with a server nonce) works with its key only', async (t) => {
  const { gh, config, proofs, rs } = await setup(t);
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const handle = oidc.getDPoPHandle(config, keyPair);
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'orders:read', resource: API }, { DPoP: handle });
  t.equal(tokens.token_type, 'dpop');
  const claims = jose.decodeJwt(tokens.access_token) as { cnf?: { jkt?: string } };
  t.equal(claims.cnf?.jkt, await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey)), 'cnf.jkt is the client key');
  t.ok(proofs.length >= 1, 'the proof went to the token endpoint');
  t.ok(JSON.parse(Buffer.from(proofs.at(-1)!.split('.')[1]!, 'base64url').toString()).nonce, "the proof carries Gatehouse's nonce");

  // The legitimate client, through openid-client: 200.
  const ok = await oidc.fetchProtectedResource(config, tokens.access_token, new URL(`${rs}/orders`), 'GET', undefined, undefined, { DPoP: handle });
  t.equal(ok.status, 200);
  const used = proofs.at(-1)!;

  // Stolen token, presented as a bearer token.
  const bearer = await call(`${rs}/orders`, { authorization: `Bearer ${tokens.access_token}` });
  t.match(bearer, { status: 401, body: { code: 'ERR_DPOP_REQUIRED', error: 'invalid_token' } });
  t.match(bearer.challenge, /^DPoP error="invalid_token"/);

  // Stolen token, with proofs from the thief's own key (openid-client made them).
  const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const own = await refusal(oidc.fetchProtectedResource(config, tokens.access_token, new URL(`${rs}/orders`), 'GET', undefined, undefined, { DPoP: thief }));
  t.match(own, { scheme: 'dpop', error: 'invalid_token', status: 401, code: 'ERR_DPOP_KEY_MISMATCH' });

  // Stolen token and a copied proof: replayed as it is, or for another method or URL.
  const replay = await call(`${rs}/orders`, { authorization: `DPoP ${tokens.access_token}`, dpop: used });
  t.match(replay, { status: 401, body: { code: 'ERR_DPOP_PROOF_REPLAYED', error: 'invalid_dpop_proof' } });
  t.match(replay.challenge, /^DPoP error="invalid_dpop_proof", .*algs="ES256/);
  const otherUrl = await call(`${rs}/other`, { authorization: `DPoP ${tokens.access_token}`, dpop: used });
  t.match(otherUrl, { status: 401, body: { code: 'ERR_DPOP_PROOF_INVALID', error: 'invalid_dpop_proof' } });
  const otherMethod = await call(`${rs}/orders`, { method: 'POST', authorization: `DPoP ${tokens.access_token}`, dpop: used });
  t.match(otherMethod, { status: 401, body: { code: 'ERR_DPOP_PROOF_INVALID' } });
  const noProof = await call(`${rs}/orders`, { authorization: `DPoP ${tokens.access_token}` });
  t.match(noProof, { status: 401, body: { code: 'ERR_DPOP_PROOF_INVALID' } });

  // The token endpoint refuses a replayed proof too (oidc-provider, across instances through the database).
  const tokenProof = proofs.find((p) => JSON.parse(Buffer.from(p.split('.')[1]!, 'base64url').toString()).htu === `${gh.issuer}/token`)!;
  const again = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { dpop: tokenProof, 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${config.clientMetadata().client_id}:${config.clientMetadata().client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders:read', resource: API }),
  });
  t.equal(again.status, 400);
  t.match(await again.json(), { error: /invalid_dpop_proof|use_dpop_nonce|invalid_grant/ });
});

t.test('an API can require DPoP; an unbound token presented with the DPoP scheme is refused', async (t) => {
  const { gh, config } = await setup(t);
  const strict = await resourceServer(t, gh.issuer, { required: true });
  const bearerTokens = await oidc.clientCredentialsGrant(config, { scope: 'orders:read', resource: API });
  t.equal(bearerTokens.token_type, 'bearer');
  const refused = await call(`${strict}/orders`, { authorization: `Bearer ${bearerTokens.access_token}` });
  t.match(refused, { status: 401, body: { code: 'ERR_DPOP_REQUIRED' } });
  const missing = await call(`${strict}/orders`);
  t.match(missing, { status: 401, body: { code: 'ERR_DPOP_REQUIRED' } });

  const handle = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const bound = await oidc.clientCredentialsGrant(config, { scope: 'orders:read', resource: API }, { DPoP: handle });
  const ok = await oidc.fetchProtectedResource(config, bound.access_token, new URL(`${strict}/orders`), 'GET', undefined, undefined, { DPoP: handle });
  t.equal(ok.status, 200);

  const unbound = await refusal(oidc.fetchProtectedResource(config, bearerTokens.access_token, new URL(`${strict}/orders`), 'GET', undefined, undefined, { DPoP: handle }));
  t.match(unbound, { scheme: 'dpop', error: 'invalid_token', status: 401, code: 'ERR_TOKEN_NOT_BOUND' });
});

t.test("a public client's refresh token is bound to its DPoP key too", async (t) => {
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock });
  await registerApi(gh.services, API, 'orders:read');
  const redirect = 'http://127.0.0.1:8765/callback';
  const spa = await registerClient(gh.services, { name: 'native app', public: true, redirectUris: [redirect], grants: ['authorization_code', 'refresh_token'], resources: [API] });
  await createVerifiedUser(gh.services, 'dana@example.com', PASSWORD);
  const config = await oidc.discovery(new URL(gh.issuer), spa.client_id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const handle = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const start = await startAuthorization(config, { redirect_uri: redirect, scope: 'openid offline_access orders:read', prompt: 'consent', resource: API });
  const step = await signIn(new UserAgent(), start.url, redirect, 'dana@example.com', PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(step.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state }, { resource: API }, { DPoP: handle });
  t.equal(tokens.token_type, 'dpop');
  t.ok(tokens.refresh_token);

  // A thief with the refresh token and a key of its own gets nothing; the owner refreshes.
  const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const stolen = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: API }, { DPoP: thief }).then(
    () => undefined,
    (err: unknown) => (err as { error?: string }).error,
  );
  t.equal(stolen, 'invalid_grant');
  const withoutProof = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: API }).then(
    () => undefined,
    (err: unknown) => (err as { error?: string }).error,
  );
  t.ok(withoutProof, `refused without a proof (${withoutProof})`);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: API }, { DPoP: handle });
  t.equal(refreshed.token_type, 'dpop');
});
