import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { Ajv } from 'ajv';
import t, { type Test } from 'tap';
import { queryAudit } from '../../src/admin/audit.ts';
import { listIpBans } from '../../src/admin/bans.ts';
import { listClients } from '../../src/admin/clients.ts';
import { listSigningKeys } from '../../src/admin/keys.ts';
import { listResources } from '../../src/admin/resources.ts';
import { userView } from '../../src/admin/users.ts';
import { PROVIDER_PATHS } from '../../src/http/plugins/oidc-mount.ts';
import { compileInputSchema } from '../../src/http/plugins/strict-input.ts';
import { eagerCompilers } from '../../src/http/lazy-schema-compilers.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic, postForm } from '../helpers/tokens.ts';

/**
 * Every route of ours declares a response schema (src/http/schemas.ts): a new route without one
 * fails here. The routes are collected while the real app is built: fastify announces each new
 * instance on the `fastify.initialization` diagnostics channel before anything is registered, and an
 * onRoute hook added then sees every route. Only the oidc-provider mount (PROVIDER_PATHS, answered
 * by the engine itself) is exempt.
 */

type SeenRoute = { method: string; url: string; response: Record<string, unknown> | undefined; input?: Record<string, unknown> };

async function buildRecordingRoutes(t: Test) {
  const routes: SeenRoute[] = [];
  const onInit = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
      const schema = (route.schema ?? {}) as Record<string, unknown>;
      const input = Object.fromEntries(['body', 'querystring', 'params', 'headers'].filter((part) => schema[part] !== undefined).map((part) => [part, schema[part]]));
      for (const method of methods) routes.push({ method, url: route.url, response, input });
    });
  };
  subscribe('fastify.initialization', onInit);
  try {
    const gh = await buildTestApp(t, { listen: true });
    return { gh, routes };
  } finally {
    unsubscribe('fastify.initialization', onInit);
  }
}

const EXEMPT = new Set<string>(PROVIDER_PATHS);

/** What is wrong with a route's response schemas, or nothing. */
export function schemaProblems(routes: readonly SeenRoute[]): string[] {
  const problems: string[] = [];
  for (const r of routes) {
    if (EXEMPT.has(r.url)) continue;
    const where = `${r.method} ${r.url}`;
    const statuses = Object.keys(r.response ?? {});
    if (statuses.length === 0) {
      problems.push(`${where} has no response schema`);
      continue;
    }
    if (!statuses.some((s) => /^[23]/.test(s))) problems.push(`${where} declares no success status`);
    if (!statuses.some((s) => s.startsWith('4'))) problems.push(`${where} declares no error status`);
  }
  return problems;
}

t.test('every route except the oidc-provider mount declares its responses', async (t) => {
  const { routes } = await buildRecordingRoutes(t);
  const ours = routes.filter((r) => !EXEMPT.has(r.url));
  t.ok(ours.length >= 40, `saw ${ours.length} routes of ours`);
  for (const expected of ['GET /admin/users', 'POST /account/signup', 'GET /interaction/:uid', 'GET /readyz', 'GET /metrics', 'GET /assets/gatehouse.css']) {
    t.ok(
      ours.some((r) => `${r.method} ${r.url}` === expected),
      `${expected} was seen`,
    );
  }
  t.ok(routes.some((r) => r.url === '/token'), 'the provider mount was seen (and skipped)');
  t.same(schemaProblems(routes), []);
});

t.test('every input schema is a valid JSON Schema and compiles (the server compiles each on its first request, without checking, to start faster)', async (t) => {
  const { routes } = await buildRecordingRoutes(t);
  const checker = new Ajv({ strict: false });
  let checked = 0;
  for (const r of routes) {
    for (const [part, schema] of Object.entries(r.input ?? {})) {
      checked += 1;
      if (!checker.validateSchema(schema as object)) t.fail(`${r.method} ${r.url} ${part}: ${checker.errorsText(checker.errors)}`);
      try {
        compileInputSchema(schema as object, part);
      } catch (err) {
        t.fail(`${r.method} ${r.url} ${part} does not compile: ${(err as Error).message}`);
      }
    }
  }
  t.ok(checked >= 20, `checked ${checked} schemas`);
  t.notOk(checker.validateSchema({ type: 'object', properties: { email: { type: 'strnig' } } }), 'and a broken one is caught');
  t.throws(() => compileInputSchema({ type: 'object', properties: { email: { type: 'string', frobnicate: 1 } } }, 'body'), 'and one the server could not compile');
});

t.test('every response schema compiles into a serializer (the server compiles each on its first use)', async (t) => {
  const { routes } = await buildRecordingRoutes(t);
  const compile = eagerCompilers().buildSerializer(undefined, undefined);
  let compiled = 0;
  for (const r of routes) {
    for (const [httpStatus, schema] of Object.entries(r.response ?? {})) {
      const content = (schema as { content?: Record<string, { schema: unknown }> }).content;
      for (const one of content ? Object.values(content).map((c) => c.schema) : [schema]) {
        try {
          t.type(compile({ schema: one, method: r.method, url: r.url, httpStatus }), 'function');
          compiled += 1;
        } catch (err) {
          t.fail(`${r.method} ${r.url} ${httpStatus} does not compile: ${(err as Error).message}`);
        }
      }
    }
  }
  t.ok(compiled >= 50, `compiled ${compiled} response schemas`);
  t.throws(() => compile({ schema: { type: 'object', properties: { a: { $ref: '#/nowhere' } } }, method: 'GET', url: '/x', httpStatus: '200' }), 'and a broken one is caught');
});

t.test('the check fails for a route without a response schema', async (t) => {
  t.same(schemaProblems([{ method: 'GET', url: '/admin/new', response: undefined }]), ['GET /admin/new has no response schema']);
  t.same(schemaProblems([{ method: 'POST', url: '/x', response: { '4xx': {} } }]), ['POST /x declares no success status']);
  t.same(schemaProblems([{ method: 'POST', url: '/x', response: { 200: {} } }]), ['POST /x declares no error status']);
  t.same(schemaProblems([{ method: 'POST', url: '/token', response: undefined }]), [], 'the provider mount is exempt');
});

/**
 * The serializer drops whatever a response schema does not list: the admin API must still answer with
 * exactly what its use cases return (the same functions the CLI prints).
 */
t.test('the admin API answers with every field its use cases return', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const s = gh.services;
  const adminAudience = `${gh.issuer}/admin`;
  await registerApi(s, 'https://orders.example.com', 'orders:read', 600);
  const ops = await registerClient(s, { name: 'ops', grants: ['client_credentials'], resources: [adminAudience], scope: 'gatehouse:admin' });
  await registerClient(s, { name: 'Shop', redirectUris: ['https://shop.example.com/cb'], scope: 'openid email', resources: ['https://orders.example.com'] });
  await createVerifiedUser(s, 'alice@example.com', PASSWORD);
  const token = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!))).json.access_token);
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gh.issuer}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as unknown };
  };
  const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

  const banned = await admin('POST', '/admin/users/alice%40example.com/ban', { reason: 'spam' });
  t.same(banned, { status: 200, json: { email: 'alice@example.com', status: 'banned', revoked: 0 } });
  const ip = await admin('POST', '/admin/ips/ban', { ip: '203.0.113.7', for: '1h', reason: 'scanner' });
  t.equal(ip.status, 200);
  t.same(Object.keys(ip.json as object).sort(), ['expires_at', 'ip']);

  const users = await admin('GET', '/admin/users?limit=5');
  t.equal(users.status, 200, 'a query-string integer is coerced');
  t.same(users.json, plain((await s.users.list({ limit: 5, offset: 0 })).map(userView)));
  t.match((users.json as { ban_reason: string }[])[0], { ban_reason: 'spam', status: 'banned' });

  const audit = await admin('GET', '/admin/audit?limit=50');
  t.equal(audit.status, 200);
  t.same(audit.json, plain(await queryAudit(s.auditStore, { limit: 50 })), 'audit events whole, detail objects included');
  const ban = (audit.json as { type: string; detail: Record<string, unknown> }[]).find((e) => e.type === 'user.banned');
  t.match(ban?.detail, { reason: 'spam' }, 'an open-shaped detail keeps its fields');

  t.same((await admin('GET', '/admin/clients')).json, plain(await listClients(s)));
  t.same((await admin('GET', '/admin/resources')).json, plain(await listResources(s)));
  t.same((await admin('GET', '/admin/ips')).json, plain(await listIpBans(s)));
  const keys = { config: s.config, clock: s.clock };
  t.same((await admin('GET', '/admin/keys')).json, plain((await listSigningKeys(keys)).keys));

  const created = await admin('POST', '/admin/clients', { name: 'Worker', grant_types: ['client_credentials'], resources: ['https://orders.example.com'], scope: 'orders:read' });
  t.equal(created.status, 201);
  t.match(created.json, { client_name: 'Worker', client_secret: /^.{20,}$/, introspects: [], previous_secret_expires_at: null });
});

t.test('query strings are validated from text', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [`${gh.issuer}/admin`], scope: 'gatehouse:admin' });
  const token = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!))).json.access_token);
  for (const query of ['limit=abc', 'limit=0', 'limit=1.5', 'offset=-1']) {
    const res = await fetch(`${gh.issuer}/admin/users?${query}`, { headers: { authorization: `Bearer ${token}` } });
    t.equal(res.status, 400, `${query} → 400`);
    const body = (await res.json()) as Record<string, unknown>;
    t.same(Object.keys(body).sort(), ['error', 'error_description'], `${query}: the error shape`);
    t.equal(body.error, 'invalid_request');
    t.match(body.error_description, /^The querystring field "(limit|offset)" must be /, `${query}: ${String(body.error_description)}`);
    if (query === 'limit=abc') t.equal(body.error_description, 'The querystring field "limit" must be integer.', 'as the README shows');
  }
});
