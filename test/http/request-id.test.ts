import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic } from '../helpers/tokens.ts';

/** X-Request-Id: taken from the request when it is acceptable, made otherwise; echoed on every
 * answer (our routes and the engine's) and in every log line of the request. */
t.test('X-Request-Id in, out, and in the logs', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const get = (path: string, id?: string) => fetch(`${gh.issuer}${path}`, { headers: id === undefined ? {} : { 'x-request-id': id } });

  const mine = await get('/healthz', 'lb-7f3a:req/42');
  t.equal(mine.headers.get('x-request-id'), 'lb-7f3a:req/42', 'an acceptable id comes back');
  const engine = await get('/.well-known/openid-configuration', 'from-the-proxy-1');
  t.equal(engine.headers.get('x-request-id'), 'from-the-proxy-1', 'on the engine’s answers too');
  const missing = await get('/no-such-page', 'not-found-9');
  t.equal(missing.status, 404);
  t.equal(missing.headers.get('x-request-id'), 'not-found-9', 'and on errors');

  const made = [await get('/healthz'), await get('/healthz')].map((r) => r.headers.get('x-request-id'));
  for (const id of made) t.match(id, /^[0-9a-f-]{36}$/, 'without one, a UUID is made');
  t.not(made[0], made[1], 'a new one each time');
  for (const bad of ['x'.repeat(129), 'two words', 'quote"d', '']) {
    const r = await get('/healthz', bad);
    t.match(r.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, `${JSON.stringify(bad.slice(0, 12))} is replaced by a UUID`);
  }

  // A token request through the engine: its access-log line carries the id.
  await registerApi(gh.services, 'https://orders.example.com', 'orders:read');
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: ['https://orders.example.com'] });
  const token = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(job.client_id, job.client_secret!), 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'token-call-5' },
    body: 'grant_type=client_credentials',
  });
  t.equal(token.status, 200);
  t.equal(token.headers.get('x-request-id'), 'token-call-5');
  const lines = gh.logs.filter((l) => l.reqId === 'token-call-5');
  t.ok(lines.some((l) => l.msg === 'request' && l.url === '/token' && l.status === 200), 'the access-log line of the token request has the id');
  t.ok(gh.logs.filter((l) => l.msg === 'request').every((l) => typeof l.reqId === 'string' && l.reqId !== ''), 'every access-log line has one');
});
