import t from 'tap';
import { shopScenario, SHOP_API, signedByStranger, type BadTokens } from '../helpers/access-tokens.ts';
import { startCountingProxy } from '../helpers/counting-proxy.ts';
import { freePort, startProcess, waitForStatus } from '../helpers/processes.ts';
import { installShopApi } from '../helpers/verifier-package.ts';

/**
 * examples/shop-api as a user runs it: installed in a folder of its own with the packed
 * `@gatehouse/verifier` tarball (never Gatehouse), `node server.js`, against a running Gatehouse whose
 * public URL is a counting proxy, hit over HTTP with real tokens and every bad one.
 */
const COOLDOWN_MS = 30_000;

t.test('the shop API: public, token and scope routes; every bad token refused; no JWKS amplification', async (t) => {
  const shopApi = await installShopApi(t);
  const proxy = await startCountingProxy(t);
  const { gh, withScope, withoutScope, bad } = await shopScenario(t, { behind: proxy });
  t.equal(gh.issuer, proxy.url);

  const port = await freePort();
  const shop = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const jwksBefore = proxy.count('/jwks');
  const discoveryBefore = proxy.count('/.well-known/openid-configuration');
  const service = startProcess(t, shopApi.serverJs, [], { GATEHOUSE_ISSUER: gh.issuer, SHOP_AUDIENCE: SHOP_API, SHOP_PORT: String(port), LOG_LEVEL: 'warn' }, shopApi.dir);
  await waitForStatus(`${shop}/pool`, 200);

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${shop}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, challenge: res.headers.get('www-authenticate'), json: (await res.json()) as Record<string, unknown> };
  };
  const payment = { amount: 1200, currency: 'EUR' };

  t.test('GET /pool: 200 without a token', async (t) => {
    const res = await call('GET', '/pool');
    t.equal(res.status, 200);
    t.ok(Array.isArray(res.json.items) && (res.json.items as unknown[]).length > 0);
    t.equal(proxy.count('/jwks'), jwksBefore, 'a public route never makes the service fetch keys');
  });

  t.test('no token: 401 and a bare challenge', async (t) => {
    for (const [method, path] of [['GET', '/profile'], ['POST', '/payments']] as const) {
      const res = await call(method, path, undefined, method === 'POST' ? payment : undefined);
      t.equal(res.status, 401, `${method} ${path}`);
      t.equal(res.challenge, 'Bearer realm="shop"');
      t.equal(res.json.code, 'ERR_TOKEN_MISSING');
    }
  });

  t.test('every bad token: 401 invalid_token with its code, on both protected routes', async (t) => {
    const expected: Record<keyof BadTokens, string> = {
      tampered: 'ERR_TOKEN_SIGNATURE',
      unknownKey: 'ERR_TOKEN_SIGNATURE',
      expired: 'ERR_TOKEN_EXPIRED',
      wrongAudience: 'ERR_TOKEN_AUDIENCE',
      wrongIssuer: 'ERR_TOKEN_ISSUER',
      idToken: 'ERR_TOKEN_ALGORITHM',
      algNone: 'ERR_TOKEN_ALGORITHM',
      hs256WithPublicKey: 'ERR_TOKEN_ALGORITHM',
    };
    for (const [name, code] of Object.entries(expected) as [keyof BadTokens, string][]) {
      for (const [method, path] of [['GET', '/profile'], ['POST', '/payments']] as const) {
        const res = await call(method, path, bad[name], method === 'POST' ? payment : undefined);
        t.equal(res.status, 401, `${name}: ${method} ${path}`);
        t.match(res.challenge, /^Bearer realm="shop", error="invalid_token", error_description="[^"]+"$/);
        t.equal(res.json.code, code);
      }
    }
  });

  t.test('a valid token without the scope: 403 naming it; with it: 200 and 201', async (t) => {
    const lacking = await call('POST', '/payments', withoutScope, payment);
    t.equal(lacking.status, 403);
    t.equal(lacking.challenge, 'Bearer realm="shop", error="insufficient_scope", error_description="The access token lacks a required scope", scope="payments:write"');
    t.equal(lacking.json.code, 'ERR_INSUFFICIENT_SCOPE');

    const profile = await call('GET', '/profile', withoutScope);
    t.equal(profile.status, 200, 'any valid token reads the profile');
    t.equal(profile.json.scope, 'orders:read');

    const paid = await call('POST', '/payments', withScope, payment);
    t.equal(paid.status, 201);
    t.match(paid.json, { amount: 1200, currency: 'EUR', status: 'accepted', by: String });
  });

  t.test('a flood of unknown kids: at most one JWKS fetch per cooldown', async (t) => {
    const forged = await Promise.all(Array.from({ length: 30 }, () => signedByStranger(withScope)));
    const statuses = new Set<number>();
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(forged.map((token) => call('GET', '/profile', token)));
      for (const r of results) statuses.add(r.status);
    }
    t.same([...statuses], [401], '300 forged tokens refused');
    const elapsed = performance.now() - started;
    const fetches = proxy.count('/jwks') - jwksBefore;
    t.ok(fetches >= 1, 'the keys were fetched (through the issuer URL)');
    t.ok(fetches <= 1 + Math.floor(elapsed / COOLDOWN_MS), `${fetches} JWKS fetches in ${Math.round(elapsed)} ms of service life`);
    t.equal(proxy.count('/.well-known/openid-configuration') - discoveryBefore, 1, 'discovery once for the life of the service');
    t.equal((await call('GET', '/profile', withScope)).status, 200, 'valid tokens still verify');
  });

  t.test('stops cleanly', async (t) => {
    service.child.kill('SIGTERM');
    t.equal(await service.exited, 0);
    t.notMatch(service.output(), /eyJ[A-Za-z0-9_-]{20,}/, 'no token in the service logs');
  });
});
