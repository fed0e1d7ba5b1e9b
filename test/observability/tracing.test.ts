import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { DATABASE_KINDS, DEFAULT_KIND } from '../helpers/databases.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { authorizationCode, cliJson, redeemCode, registerWebApp, REDIRECT } from '../helpers/oauth-app.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitUntil } from '../helpers/wait-until.ts';

/**
 * Traces as an operator gets them: the real server process exports by OTLP/HTTP to a collector on
 * loopback (a plain HTTP server here, reading the JSON bodies the exporter sends). A sign-in and a
 * token request give a request span per route, with the database queries and the password check
 * nested under it; no exported byte holds the password, the email, the client secret, the code or a
 * token; an incoming `traceparent` is continued; SIGTERM sends what is still buffered. Without
 * OTEL_EXPORTER_OTLP_ENDPOINT no OpenTelemetry module is even loaded.
 */
t.setTimeout(300_000);

const PASSWORD = 'correct horse battery staple 9';
const EMAIL = 'trace.me@example.com';
/** An account that does not exist: the admin API's 404 names it in its message and its path. */
const STRANGER = 'nobody.here@example.com';
/** OTLP span kinds. */
const SERVER = 2;
const CLIENT = 3;

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number; message?: string };
}
interface Export {
  headers: IncomingHttpHeaders;
  raw: string;
  spans: OtlpSpan[];
  serviceNames: string[];
}

/** A collector: every POST to /v1/traces, kept. */
async function collector(t: Test) {
  const exports: Export[] = [];
  const others: string[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        others.push(`${req.method} ${req.url}`);
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw) as {
        resourceSpans: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      exports.push({
        headers: req.headers,
        raw,
        spans: body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
        serviceNames: body.resourceSpans.map((r) => String(r.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue)),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    exports,
    others,
    spans: () => exports.flatMap((e) => e.spans),
    raw: () => exports.map((e) => e.raw).join('\n'),
  };
}

const attr = (span: OtlpSpan, key: string): unknown => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue) : undefined;
};

/** The span's ancestors, nearest first (within what has been exported). */
function ancestors(spans: OtlpSpan[], span: OtlpSpan): OtlpSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const out: OtlpSpan[] = [];
  for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined) out.push(p);
  return out;
}

/** Records every module URL with OpenTelemetry in it that the process resolves (module.register hooks). */
async function moduleRecorder(dir: string) {
  const log = join(dir, 'loaded.txt');
  await writeFile(log, '');
  const hooks = join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (/opentelemetry|fastify\\/otel/.test(result.url)) appendFileSync(log, result.url + '\\n');
  return result;
}
`,
  );
  const preload = join(dir, 'register.mjs');
  await writeFile(
    preload,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: ${JSON.stringify(log)} } });\n`,
  );
  return { log, nodeOptions: `--import ${pathToFileURL(preload).href}` };
}

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: request, database and password spans reach the collector, nested and without secrets`, async (t) => {
    const otlp = await collector(t);
    const d = await gatehouseDeployment(t, kind, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=k3y',
        // Export soon after each span ends: the test waits for spans, not for a timer.
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    await cliJson(d, ['migrate']);
    const app = await registerWebApp(d);
    await cliJson(d, ['users', 'create', EMAIL, '--password-stdin', '--verified'], `${PASSWORD}\n`);
    const server = await d.start();

    const code = await authorizationCode(server.url, app, EMAIL, PASSWORD);
    const tokens = await redeemCode(server.url, app, code);
    t.equal(tokens.status, 200, 'the sign-in and the token request succeed with tracing on');

    // An admin API call whose path and error message hold an email (the admin API exists once the
    // server has started).
    const ops = await cliJson(d, ['clients', 'create', '--name', 'ops', '--grant', 'client_credentials', '--resource', `${server.url}/admin`, '--scope', 'gatehouse:admin']);
    const admin = await postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(String(ops.client_id), String(ops.client_secret)));
    t.equal(admin.status, 200, 'an admin token');
    const ban = await fetch(`${server.url}/admin/users/${encodeURIComponent(STRANGER)}/ban`, {
      method: 'POST',
      headers: { authorization: `Bearer ${String(admin.json.access_token)}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const banBody = await ban.text();
    t.equal(ban.status, 404);
    t.match(banBody, STRANGER, 'the answer names the address (so the span must not)');

    const named = (name: string) => otlp.spans().filter((s) => s.name === name);
    await waitUntil(
      () => ['POST /interaction/:uid/login', 'POST /token', 'password.verify', 'POST /admin/users/:email/ban'].every((name) => named(name).length > 0),
      'the spans of the sign-in, the token request and the admin call',
      60_000,
    );
    const spans = otlp.spans();

    // The request span of the sign-in form's POST.
    const login = named('POST /interaction/:uid/login')[0]!;
    t.equal(login.kind, SERVER, 'the request span is a server span');
    t.equal(attr(login, 'http.route'), '/interaction/:uid/login');
    t.equal(attr(login, 'http.request.method'), 'POST');
    t.match(String(attr(login, 'http.response.status_code')), /^30[23]$/, 'with the response status (a redirect back to the engine)');
    t.equal(attr(login, 'url.path'), '/interaction/:uid/login', 'and the path (as the pattern: the interaction id is a cookie value)');

    // The password check and the user lookup of that request, nested under it.
    const verify = named('password.verify').find((s) => s.traceId === login.traceId);
    t.ok(verify, 'a password.verify span in the sign-in trace');
    t.ok(ancestors(spans, verify!).some((a) => a.spanId === login.spanId), 'password.verify has the request span as an ancestor');
    const loginQueries = spans.filter((s) => s.name.startsWith('db ') && s.traceId === login.traceId);
    t.ok(loginQueries.length > 0, `database spans in the sign-in trace: ${[...new Set(loginQueries.map((s) => s.name))].join(', ')}`);
    for (const q of loginQueries) {
      if (!ancestors(spans, q).some((a) => a.spanId === login.spanId)) t.fail(`${q.name} is not under the request span`);
    }
    // The account lookup is hand-written SQL (persistence/raw-sql.ts): named by statement and table.
    const userLookup = loginQueries.find((s) => s.name === 'db SELECT users');
    t.ok(userLookup, 'the account lookup is one of them');
    t.equal(userLookup!.kind, CLIENT);
    t.equal(attr(userLookup!, 'db.system'), kind === 'sqlite' ? 'sqlite' : 'postgresql');
    t.equal(attr(userLookup!, 'db.collection.name'), 'users');
    t.equal(attr(userLookup!, 'db.operation.name'), 'SELECT');
    t.match(String(attr(userLookup!, 'db.query.text')), /^SELECT .* FROM users WHERE (email|id) = \$1$/, 'the statement, with placeholders only');
    t.notMatch(JSON.stringify(userLookup!.attributes), /@example/, 'never the values');
    // And a model-API query keeps its model and operation.
    t.ok(loginQueries.some((s) => /^db [A-Z]\w+\.\w+$/.test(s.name) && typeof attr(s, 'db.collection.name') === 'string'), 'model-API queries are named db <Model>.<operation>');

    // The token endpoint (handed to oidc-provider, which answers on the raw response).
    const token = named('POST /token')[0]!;
    t.equal(token.kind, SERVER);
    t.equal(attr(token, 'http.response.status_code'), 200, 'the token request span has its status');
    t.ok(spans.some((s) => s.name.startsWith('db ') && s.traceId === token.traceId && ancestors(spans, s).some((a) => a.spanId === token.spanId)), 'the token request has database spans under it');

    // The authorization request's query (state, PKCE challenge) is not recorded.
    const authorize = named('GET /auth')[0];
    t.ok(authorize, 'the authorization request has a span');
    t.equal(attr(authorize!, 'url.path'), '/auth', 'its url.path is the path alone');
    for (const s of spans) {
      const path = attr(s, 'url.path');
      if (typeof path === 'string' && path.includes('?')) t.fail(`${s.name} recorded a query string: ${path}`);
    }

    // The admin call: the route pattern stands in for the path, the error keeps no message.
    const banned = named('POST /admin/users/:email/ban')[0]!;
    t.equal(attr(banned, 'url.path'), '/admin/users/:email/ban', 'a path with a parameter is recorded as its pattern');
    t.equal(attr(banned, 'http.response.status_code'), 404);
    const failed = spans.filter((s) => s.traceId === banned.traceId && s.status?.code === 2);
    t.ok(failed.length > 0, 'the failure is marked as an error');
    t.same(failed.map((s) => s.status?.message ?? ''), failed.map(() => ''), 'with no message');

    // Nothing a person or client sent is in any exported byte.
    const raw = otlp.raw();
    const secrets = {
      password: PASSWORD, email: EMAIL, 'client secret': app.client_secret, code: code.code, verifier: code.verifier,
      'access token': String(tokens.json.access_token), 'refresh token': String(tokens.json.refresh_token), 'redirect uri': REDIRECT,
      "the ops client's secret": String(ops.client_secret), 'admin token': String(admin.json.access_token),
      "the admin call's email": STRANGER, 'its URL-encoded form': encodeURIComponent(STRANGER), 'its local part': 'nobody.here',
    };
    for (const [what, value] of Object.entries(secrets)) t.notOk(raw.includes(value), `no ${what} in the exported spans`);
    t.notOk(/code_challenge|state=|authorization|cookie/i.test(raw), 'no query parameter names, authorization or cookie headers');

    t.ok(otlp.exports.every((e) => e.headers['x-collector-key'] === 'k3y'), 'OTEL_EXPORTER_OTLP_HEADERS go with every export');
    t.same([...new Set(otlp.exports.flatMap((e) => e.serviceNames))], ['gatehouse'], 'service.name defaults to gatehouse');
    t.same(otlp.others, [], 'nothing but POST /v1/traces reached the collector');
    t.equal(await server.stop(), 0);
  });
}

t.test(`${DEFAULT_KIND}: an incoming traceparent is continued, and SIGTERM sends the buffered spans`, async (t) => {
  const otlp = await collector(t);
  const d = await gatehouseDeployment(t, DEFAULT_KIND, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_SERVICE_NAME: 'gatehouse-eu',
      // Nothing leaves on a timer during this test: only the shutdown sends the batch.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    },
  });
  await cliJson(d, ['migrate']);
  await cliJson(d, ['resources', 'create', '--audience', 'https://orders.example.com', '--scope', 'orders:read']);
  const job = await cliJson(d, ['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', 'https://orders.example.com', '--scope', 'orders:read']);
  const server = await d.start();

  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: {
      traceparent: `00-${traceId}-${parentId}-01`,
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(String(job.client_id))}:${encodeURIComponent(String(job.client_secret))}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  const answer = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
  t.equal(res.status, 200, `client credentials token (${answer.error ?? 'ok'} ${answer.error_description ?? ''})`);
  const lost = await fetch(`${server.url}/no/such/page?token=tok-4242-lost`);
  t.equal(lost.status, 404, 'an unknown path is a 404 with tracing on');
  t.equal((await fetch(`${server.url}/readyz`)).status, 200);
  t.equal(otlp.exports.length, 0, 'nothing exported yet (the batch waits)');

  t.equal(await server.stop(), 0, 'SIGTERM: a clean exit');
  const spans = otlp.spans();
  const request = spans.find((s) => s.name === 'POST /token');
  t.ok(request, 'the request span was sent at shutdown');
  t.equal(request!.traceId, traceId, 'it continues the trace of the incoming traceparent');
  t.equal(request!.parentSpanId, parentId, "and its parent is the caller's span");
  t.ok(spans.some((s) => s.name.startsWith('db ') && s.traceId === traceId), 'the database spans of that request are in the same trace');
  t.same([...new Set(otlp.exports.flatMap((e) => e.serviceNames))], ['gatehouse-eu'], 'OTEL_SERVICE_NAME names the service');
  const unmatched = spans.find((s) => s.name === 'GET unmatched');
  t.ok(unmatched, 'a request no route matches has a span');
  t.equal(attr(unmatched!, 'url.path'), '/no/such/page', 'with its path, without the query');
  t.equal(attr(unmatched!, 'http.response.status_code'), 404);
  t.notOk(spans.some((s) => s.name.includes('/readyz')), 'the readiness probe is not traced');
  const raw = otlp.raw();
  t.notOk(raw.includes('tok-4242-lost'), 'no query value in the spans');
  t.notOk(raw.includes(String(job.client_secret)), 'no client secret in the spans');
  t.notOk(answer.access_token && raw.includes(answer.access_token), 'no access token in the spans');
});

t.test(`${DEFAULT_KIND}: without OTEL_EXPORTER_OTLP_ENDPOINT no OpenTelemetry module is loaded and nothing is exported`, async (t) => {
  const otlp = await collector(t);
  const dir = await tempDir(t, 'gatehouse-otel-');
  const off = await moduleRecorder(dir);
  const d = await gatehouseDeployment(t, DEFAULT_KIND, {
    // The signal-specific endpoint alone does not turn tracing on (README, Operations).
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.endpoint}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '100', NODE_OPTIONS: off.nodeOptions },
  });
  await cliJson(d, ['migrate']);
  const app = await registerWebApp(d);
  await cliJson(d, ['users', 'create', EMAIL, '--password-stdin', '--verified'], `${PASSWORD}\n`);
  await writeFile(off.log, ''); // the CLI runs above had the recorder too
  const server = await d.start();
  const tokens = await redeemCode(server.url, app, await authorizationCode(server.url, app, EMAIL, PASSWORD));
  t.equal(tokens.status, 200, 'sign-in and token request work with tracing off');
  t.equal(await server.stop(), 0);
  t.equal(await readFile(off.log, 'utf8'), '', 'no OpenTelemetry module was resolved by the server');
  t.same(otlp.exports, [], 'nothing reached the collector');

  // The recorder does see them when tracing is on: the check above can fail.
  const on = await moduleRecorder(await tempDir(t, 'gatehouse-otel-on-'));
  const traced = await d.start({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, NODE_OPTIONS: on.nodeOptions });
  t.equal(await traced.stop(), 0);
  const loaded = await readFile(on.log, 'utf8');
  t.match(loaded, /@opentelemetry\/sdk-trace-node/, 'with the endpoint set, the SDK is loaded (the recorder works)');
  t.match(loaded, /@fastify\/otel/);
});

t.test(`${DEFAULT_KIND}: a collector that never answers fails no request and does not hold the exit`, async (t) => {
  // Accepts connections and reads, never answers.
  let connections = 0;
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer(() => {});
  silent.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const d = await gatehouseDeployment(t, DEFAULT_KIND, {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  await cliJson(d, ['migrate']);
  const app = await registerWebApp(d);
  await cliJson(d, ['users', 'create', EMAIL, '--password-stdin', '--verified'], `${PASSWORD}\n`);
  const server = await d.start();
  const tokens = await redeemCode(server.url, app, await authorizationCode(server.url, app, EMAIL, PASSWORD));
  t.equal(tokens.status, 200, 'sign-in and token request are answered while the export hangs');
  await waitUntil(() => connections > 0, 'an export attempt', 60_000);
  t.equal(await server.stop(), 0, 'SIGTERM still exits 0: the last flush gives up instead of holding the exit');
  t.match(server.process.output(), /tracing: the collector did not take the last spans/, 'and says so');
});
