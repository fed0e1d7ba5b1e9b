// The shop API: a microservice that accepts Gatehouse access tokens, verified offline with the
// `@gatehouse/verifier` package (jose only; never Gatehouse itself). Plain ESM JavaScript, a project
// of its own: `npm install --install-links && npm start` in this folder (see README.md).
//
//   GET  /pool      public, no token
//   GET  /profile   any valid access token for this API
//   POST /payments  an access token with the scope payments:write
//
// Environment: GATEHOUSE_ISSUER (default http://localhost:3000, Gatehouse's ISSUER exactly),
// SHOP_AUDIENCE (default https://shop.example.com, the API registered with `resources create`),
// SHOP_PORT (default 4000), SHOP_HOST (default 127.0.0.1) — not PORT and HOST, which Gatehouse reads
// when both run from one shell —, LOG_LEVEL (default info), JWKS_COOLDOWN_MS (default 30000: the
// verifier's cooldownDuration, the least time between two fetches of Gatehouse's keys),
// REVOCATION_POLL_MS (default 2000: how often Gatehouse's revocation feed is polled, so a banned
// user's or a revoked token is refused here within about that long).
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { gatehouseAuth, requireScope, requireToken } from '@gatehouse/verifier/fastify';

const issuer = process.env.GATEHOUSE_ISSUER ?? 'http://localhost:3000';
const audience = process.env.SHOP_AUDIENCE ?? 'https://shop.example.com';
const port = Number(process.env.SHOP_PORT ?? 4000);
const host = process.env.SHOP_HOST ?? '127.0.0.1';
// A bad value stops the start: createVerifier validates its options once.
const cooldown = process.env.JWKS_COOLDOWN_MS ? { cooldownDuration: Number(process.env.JWKS_COOLDOWN_MS) } : {};
// The revocation feed is used because Gatehouse advertises it in discovery; fail closed (the default)
// if it stays unreachable past maxStale.
const revocation = process.env.REVOCATION_POLL_MS ? { revocation: { pollInterval: Number(process.env.REVOCATION_POLL_MS) } } : {};

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info', redact: ['req.headers.authorization'] } });

// One verifier for the process: it discovers Gatehouse's keys and revocation feed on the first token,
// caches the keys and polls the feed.
await app.register(gatehouseAuth, { issuer, audience, realm: 'shop', ...cooldown, ...revocation });

const POOL = [
  { sku: 'tea-01', name: 'Green tea', price: 450 },
  { sku: 'mug-02', name: 'Stoneware mug', price: 1200 },
];

app.get(
  '/pool',
  { schema: { response: { 200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' }, name: { type: 'string' }, price: { type: 'integer' } } } } } } } } },
  async () => ({ items: POOL }),
);

app.get(
  '/profile',
  {
    onRequest: requireToken(),
    schema: { response: { 200: { type: 'object', properties: { sub: { type: 'string' }, client_id: { type: 'string' }, scope: { type: 'string' } } } } },
  },
  async (request) => ({ sub: request.auth.sub, client_id: request.auth.client_id, scope: request.auth.scope ?? '' }),
);

app.post(
  '/payments',
  {
    // onRequest: the token is checked before the body is even read.
    onRequest: requireScope('payments:write'),
    schema: {
      body: {
        type: 'object',
        required: ['amount', 'currency'],
        additionalProperties: false,
        properties: { amount: { type: 'integer', minimum: 1 }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } },
      },
      response: {
        201: {
          type: 'object',
          properties: { id: { type: 'string' }, amount: { type: 'integer' }, currency: { type: 'string' }, status: { type: 'string' }, by: { type: 'string' } },
        },
      },
    },
  },
  async (request, reply) => {
    const { amount, currency } = request.body;
    return reply.code(201).send({ id: randomUUID(), amount, currency, status: 'accepted', by: request.auth.client_id });
  },
);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0), () => process.exit(1));
  });
}

await app.listen({ port, host });
app.log.info({ issuer, audience }, 'shop API verifying Gatehouse access tokens');
