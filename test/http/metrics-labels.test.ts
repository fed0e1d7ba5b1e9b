import t from 'tap';
import { buildTestApp, type TestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic } from '../helpers/tokens.ts';

/** Every series line of our own metrics (process_* come from prom-client and are fixed). */
async function series(gh: TestApp): Promise<string[]> {
  const res = await gh.app.inject({ method: 'GET', url: '/metrics' });
  return res.body.split('\n').filter((line) => line.startsWith('gatehouse_') && !line.startsWith('gatehouse_process_') && !line.startsWith('gatehouse_nodejs_'));
}

/** One round of requests whose label-worthy parts (grant type, method, path) are invented by the caller. */
async function inventedRound(gh: TestApp, auth: string, n: number): Promise<void> {
  await gh.app.inject({
    method: 'POST',
    url: '/token',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=invented-${n}`,
  });
  await gh.app.inject({
    method: 'POST',
    url: '/token',
    headers: { authorization: basic('no-such-client', 'x'), 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=urn:x:${n}`,
  });
  await gh.app.inject({ method: 'GET', url: `/no/such/path/${n}?q=${n}` });
  await gh.app.inject({ method: 'GET', url: `/auth/${'x'.repeat(n % 50)}${n}` });
  const methods = ['PROPFIND', 'MKCOL', 'SEARCH', 'LOCK', 'PURGE', 'REPORT', 'COPY', 'MOVE'];
  await gh.app.inject({ method: methods[n % methods.length] as 'GET', url: `/${n}` });
}

t.test('label values come from closed sets: invented grant types, methods and paths add no series', async (t) => {
  const gh = await buildTestApp(t);
  await registerApi(gh.services, 'https://api.example.com', 'read');
  const c = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: ['https://api.example.com'] });
  const auth = basic(c.client_id, c.client_secret!);

  // Warm up: the first invented values may create the catch-all series (`other`, `unmatched`).
  for (let n = 0; n < 10; n++) await inventedRound(gh, auth, n);
  await series(gh); // the scrape's own series
  const before = await series(gh);
  for (let n = 10; n < 210; n++) await inventedRound(gh, auth, n);
  const after = await series(gh);

  t.same(after.map((l) => l.replace(/ [^ ]+$/, '')), before.map((l) => l.replace(/ [^ ]+$/, '')), '200 more invented requests, not one new series');
  const text = after.join('\n');
  t.notMatch(text, /invented|urn:x:|no\/such|PROPFIND|MKCOL/, 'no caller-chosen text in any label');
  t.match(text, /gatehouse_token_errors_total\{grant="other",error="unsupported_grant_type"\} 210/, 'invented grant types are counted as other');
  t.match(text, /gatehouse_http_requests_total\{method="other",route="unmatched",status="404"\} 210/);
  t.match(text, /route="\/auth\/:uid"/, 'a matched route is labelled by its pattern');
  t.ok(after.length < 100, `a bounded handful of series (${after.length})`);
});
