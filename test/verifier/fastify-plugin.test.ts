import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { createVerifier, gatehouseAuth, requireScope, requireToken, VerifierOptionsError } from '../../src/verifier/index.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { accessToken, API, startFakeIssuer, testKey } from '../helpers/fake-issuer.ts';

/** The fastify plugin through app.inject(): request.auth, the guards, and the 401/403/503 answers. */

async function setup(t: Test) {
  const fake = await startFakeIssuer(t);
  const key = await testKey();
  fake.published = [key.jwk];
  const clock = steppableClock(FIXED_START);
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(gatehouseAuth, { issuer: fake.issuer, audience: API, clock, realm: 'orders' });
  app.get('/public', async (request) => ({ auth: request.auth }));
  app.get('/me', { onRequest: requireToken() }, async (request) => ({ sub: request.auth!.sub, scope: request.auth!.scope }));
  await app.register(async (child) => {
    child.post(
      '/orders',
      {
        onRequest: requireScope('orders:write'),
        schema: { body: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer', minimum: 1 } } } },
      },
      async (request, reply) => reply.code(201).send({ by: request.auth!.client_id }),
    );
  });
  const token = (scope: string) => accessToken(fake.issuer, key, clock.now(), { scope });
  return { app, fake, key, clock, token };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('public routes never look at the Authorization header', async (t) => {
  const { app, fake } = await setup(t);
  for (const headers of [{}, { authorization: 'Bearer garbage' }, { authorization: 'Basic eDp5' }]) {
    const res = await app.inject({ method: 'GET', url: '/public', headers });
    t.equal(res.statusCode, 200);
    t.same(res.json(), { auth: null });
  }
  t.same(fake.hits, { discovery: 0, jwks: 0 }, 'no key fetched for public traffic');
});

t.test('requireToken(): 401 with the RFC 6750 challenge, or request.auth', async (t) => {
  const { app, clock, token } = await setup(t);
  const none = await app.inject({ method: 'GET', url: '/me' });
  t.equal(none.statusCode, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="orders"');
  t.equal(none.headers['cache-control'], 'no-store');
  t.same(none.json(), { error: 'unauthorized', error_description: 'An access token is required', code: 'ERR_TOKEN_MISSING' });

  const forged = await app.inject({ method: 'GET', url: '/me', headers: bearer(await accessToken('http://127.0.0.1:1', await testKey(), clock.now())) });
  t.equal(forged.statusCode, 401);
  t.equal(forged.headers['www-authenticate'], 'Bearer realm="orders", error="invalid_token", error_description="The access token signature is invalid"');
  t.match(forged.json(), { error: 'invalid_token', code: 'ERR_TOKEN_SIGNATURE' });

  const ok = await app.inject({ method: 'GET', url: '/me', headers: bearer(await token('orders:read')) });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { sub: 'job', scope: 'orders:read' });
  t.equal(ok.headers['www-authenticate'], undefined);

  const after = await app.inject({ method: 'GET', url: '/public', headers: bearer(await token('orders:read')) });
  t.same(after.json(), { auth: null }, 'request.auth is per request and only set by a guard');
});

t.test('requireScope(): 403 naming the scope; authentication happens before the body is read', async (t) => {
  const { app, token } = await setup(t);
  const payload = { amount: 5 };
  const lacking = await app.inject({ method: 'POST', url: '/orders', headers: bearer(await token('orders:read')), payload });
  t.equal(lacking.statusCode, 403);
  t.equal(
    lacking.headers['www-authenticate'],
    'Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="orders:write"',
  );
  t.match(lacking.json(), { error: 'insufficient_scope', code: 'ERR_INSUFFICIENT_SCOPE' });

  const ok = await app.inject({ method: 'POST', url: '/orders', headers: bearer(await token('orders:read orders:write')), payload });
  t.equal(ok.statusCode, 201);
  t.same(ok.json(), { by: 'job' });

  const anonymousBadBody = await app.inject({ method: 'POST', url: '/orders', payload: { amount: 'lots' } });
  t.equal(anonymousBadBody.statusCode, 401, 'no token: 401 before body validation (no 400 to strangers)');
  const badBody = await app.inject({ method: 'POST', url: '/orders', headers: bearer(await token('orders:write')), payload: { amount: 'lots' } });
  t.equal(badBody.statusCode, 400, 'with a token, the body is validated');
});

t.test('keys unavailable: 503 without a challenge (the token is not at fault)', async (t) => {
  const { app, fake, token } = await setup(t);
  fake.mode = 'down';
  const res = await app.inject({ method: 'GET', url: '/me', headers: bearer(await token('orders:read')) });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['www-authenticate'], undefined);
  t.match(res.json(), { error: 'temporarily_unavailable', code: 'ERR_KEYS_UNAVAILABLE' });
});

t.test('misuse fails early or closed', async (t) => {
  t.throws(() => requireScope('orders:write', 'bad"scope'), VerifierOptionsError, 'a scope that would break the header: at route definition');
  t.throws(() => (requireScope as (...s: string[]) => unknown)(), VerifierOptionsError, 'requireScope() without a scope');

  const bare = Fastify();
  t.teardown(() => bare.close());
  bare.get('/me', { onRequest: requireToken() }, async () => ({ leaked: true }));
  const res = await bare.inject({ method: 'GET', url: '/me', headers: { authorization: 'Bearer x' } });
  t.equal(res.statusCode, 500, 'a guard without the plugin refuses every request');

  const fake = await startFakeIssuer(t);
  const verifier = createVerifier({ issuer: fake.issuer, audience: API });
  const shared = Fastify();
  t.teardown(() => shared.close());
  await shared.register(gatehouseAuth, { verifier });
  await shared.ready();
  t.equal(shared.gatehouseVerifier, verifier, 'a prebuilt verifier (one key cache) can be shared');
  t.throws(() => createVerifier({ issuer: fake.issuer, audience: API, algorithms: ['HS256' as never] }), VerifierOptionsError);
});
