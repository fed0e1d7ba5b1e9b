import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { AppError, badRequest, tooManyRequests } from '../../src/errors.ts';
import { errorHandlerPlugin } from '../../src/http/plugins/error-handler.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { buildTestApp } from '../helpers/build-app.ts';

async function appWithRoutes(t: Test) {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
  const app = Fastify({ loggerInstance: logger as never, bodyLimit: 1024 });
  await app.register(errorHandlerPlugin);
  app.get('/bad', async () => {
    throw badRequest('The email is not valid.');
  });
  app.get('/slow-down', async () => {
    throw tooManyRequests('Too many attempts.', 30.2);
  });
  app.get('/boom', async () => {
    throw new Error('secret connection string postgres://u:p@db/x exploded');
  });
  app.get('/hidden', async () => {
    throw new AppError('server_error', 'internal detail', { expose: false });
  });
  app.post('/echo', { schema: { body: { type: 'object', required: ['email'], properties: { email: { type: 'string' } } } } }, async (req) => req.body);
  t.teardown(() => app.close());
  return { app, logs };
}

t.test('exposed errors keep their code, status, message and headers', async (t) => {
  const { app } = await appWithRoutes(t);
  const bad = await app.inject('/bad');
  t.equal(bad.statusCode, 400);
  t.same(bad.json(), { error: 'invalid_request', error_description: 'The email is not valid.' });
  const slow = await app.inject('/slow-down');
  t.equal(slow.statusCode, 429);
  t.equal(slow.headers['retry-after'], '31');
  t.equal(slow.json().error, 'too_many_requests');
});

t.test('unexpected errors become server_error, logged once, never shown', async (t) => {
  const { app, logs } = await appWithRoutes(t);
  for (const url of ['/boom', '/hidden']) {
    const res = await app.inject(url);
    t.equal(res.statusCode, 500);
    t.same(res.json(), { error: 'server_error', error_description: 'The server could not complete the request.' });
    t.notMatch(res.body, /exploded|internal detail|postgres|\.ts:/);
  }
  const errors = logs.filter((l) => l.msg === 'request failed');
  t.equal(errors.length, 2, 'one log line per failure');
  t.match((errors[0]!.err as { message: string }).message, /exploded/, 'the cause is in the log');
});

t.test('malformed requests get a 4xx in the same shape', async (t) => {
  const { app } = await appWithRoutes(t);
  const cases = [
    { payload: '{"email":', headers: { 'content-type': 'application/json' }, status: 400 },
    { payload: '{}', headers: { 'content-type': 'application/json' }, status: 400, description: /missing the field "email"/ },
    { payload: '{"email": 5, "x": []}', headers: { 'content-type': 'application/json' }, status: 200 },
    { payload: 'x'.repeat(5000), headers: { 'content-type': 'application/json' }, status: 413 },
    { payload: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
    { payload: '', headers: { 'content-type': 'application/json' }, status: 400 },
  ];
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: '/echo', payload: c.payload, headers: c.headers });
    t.equal(res.statusCode, c.status, `${c.headers['content-type']} ${c.payload.slice(0, 20)}`);
    if (c.status >= 400) {
      const body = res.json();
      t.type(body.error, 'string');
      t.type(body.error_description, 'string');
      if (c.description) t.match(body.error_description, c.description);
    }
  }
});

t.test('unknown routes answer 404 in the error shape', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/no/such/thing?token=abc' });
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: 'not_found', error_description: 'There is nothing at GET /no/such/thing.' });
});

t.test('the access log redacts credentials in query strings', async (t) => {
  const { app, logs } = await buildTestApp(t);
  await app.inject({ method: 'GET', url: '/account/verify-email?token=super-secret-value&lang=en' });
  const line = logs.find((l) => l.msg === 'request');
  t.ok(line);
  t.notMatch(JSON.stringify(logs), /super-secret-value/);
  t.match(String(line!.url), /token=%5Bredacted%5D&lang=en/);
});

t.test('the access log: one line per request with fixed fields; polling routes only when they fail', async (t) => {
  const { app, logs } = await buildTestApp(t);
  await app.inject({ method: 'GET', url: '/healthz' });
  await app.inject({ method: 'GET', url: '/jwks' });
  await app.inject({ method: 'GET', url: '/no/such/thing', headers: { 'x-request-id': 'missing-1' } });
  const lines = logs.filter((l) => l.msg === 'request');
  t.same(lines.map((l) => l.url), ['/no/such/thing'], 'a successful health check or key fetch writes no line');
  const [line] = lines;
  t.same(Object.keys(line!).sort(), ['hostname', 'ip', 'level', 'method', 'ms', 'msg', 'pid', 'reqId', 'status', 'time', 'url'], 'these fields and no others');
  t.match(line, { level: 'info', reqId: 'missing-1', method: 'GET', status: 404, ip: '127.0.0.1' });
  t.type(line!.ms, 'number');
});
