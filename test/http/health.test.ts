import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';

/** A PostgreSQL-backed app whose database connection runs through a proxy the test can cut. */
async function appBehindProxy(t: Test) {
  const database = await createTestDatabase(t, 'postgres');
  const url = new URL(database.url);
  const proxy = await startTcpProxy(t, { host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  const built = await buildTestApp(t, { databaseUrl: url.href });
  return { ...built, proxy };
}

t.test('/readyz says ready while the database answers', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ready', checks: { database: 'ok', keys: 'ok', keyring: 'ok' } });
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('database outage: /readyz 503 with the reason, /healthz still 200, recovery without restart', async (t) => {
  const { app, proxy } = await appBehindProxy(t);
  t.equal((await app.inject('/readyz')).statusCode, 200, 'ready through the proxy');

  await proxy.cut();
  const down = await app.inject('/readyz');
  t.equal(down.statusCode, 503);
  const body = down.json();
  t.equal(body.error, 'temporarily_unavailable');
  t.match(body.error_description, /^database: /);
  t.not(body.checks.database, 'ok');
  t.notMatch(down.body, /postgres(ql)?:\/\//, 'no connection string');
  t.notMatch(down.body, /at .*\.(ts|js):\d+/, 'no stack trace');

  const health = await app.inject('/healthz');
  t.equal(health.statusCode, 200, 'alive: an outage must not get the instance restarted');
  t.same(health.json(), { status: 'ok' });

  await proxy.restore();
  let ready = 0;
  for (let attempt = 0; attempt < 20 && ready !== 200; attempt++) {
    ready = (await app.inject('/readyz')).statusCode;
  }
  t.equal(ready, 200, 'checked per request, so it comes back by itself');
});
