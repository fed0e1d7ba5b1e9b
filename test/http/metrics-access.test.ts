import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';

const TOKEN = 'metrics-scraper-token-0123456789-abcdefghij';

t.test('without METRICS_TOKEN /metrics is open, but an IP ban applies to it', async (t) => {
  const gh = await buildTestApp(t);
  // Banned before the first request, so no cached ban list hides it.
  await gh.services.ipBans.put({ cidr: '203.0.113.0/24', reason: 'scanner', createdAt: new Date(), expiresAt: null });
  const from = (remoteAddress: string, url: string) => gh.app.inject({ method: 'GET', url, remoteAddress });
  t.equal((await from('198.51.100.7', '/metrics')).statusCode, 200, 'open to anyone else, as before');
  const banned = await from('203.0.113.9', '/metrics');
  t.equal(banned.statusCode, 403, 'a banned address gets no metrics');
  t.match(banned.json(), { error: 'access_denied' });
  t.equal((await from('203.0.113.9', '/healthz')).statusCode, 200, 'health checks stay open to the load balancer');
});

t.test('with METRICS_TOKEN /metrics needs that bearer token', async (t) => {
  const gh = await buildTestApp(t, { env: { METRICS_TOKEN: TOKEN } });
  const scrape = (authorization?: string) => gh.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
  const none = await scrape();
  t.equal(none.statusCode, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="gatehouse-metrics"');
  t.match(none.json(), { error: 'invalid_token' });
  t.notMatch(none.body, /gatehouse_/, 'not one metric');
  t.equal((await scrape(`Bearer ${TOKEN}x`)).statusCode, 401, 'a longer token');
  t.equal((await scrape(`Bearer ${TOKEN.slice(0, -1)}`)).statusCode, 401, 'a prefix');
  t.equal((await scrape(`Basic ${TOKEN}`)).statusCode, 401, 'another scheme');
  const ok = await scrape(`Bearer ${TOKEN}`);
  t.equal(ok.statusCode, 200);
  t.match(ok.body, /gatehouse_http_requests_total/);
  t.equal((await scrape(`bearer ${TOKEN}`)).statusCode, 200, 'the scheme in any case');
  t.equal((await gh.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health checks need no token');
});
