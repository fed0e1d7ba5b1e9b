import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic, postForm } from '../helpers/tokens.ts';

/**
 * The admin API's changes to what exists: PATCH /admin/clients/:id, POST /admin/clients/:id/secret,
 * PATCH /admin/resources?audience=…, over real HTTP with a real admin token. Bad input is a 400 with
 * `{error, error_description}`, an unknown client or API a 404, and nothing is written either way.
 */

const API = 'https://orders.example.com';
const REDIRECT = 'https://shop.example.com/callback';

async function adminSetup(t: Test) {
  const gh = await buildTestApp(t, { listen: true });
  const adminAudience = `${gh.issuer}/admin`;
  await registerApi(gh.services, API, 'orders:read orders:write');
  const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [adminAudience], scope: 'gatehouse:admin' });
  const token = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!))).json.access_token);
  const admin = async (method: string, path: string, body?: unknown, raw?: string) => {
    const res = await fetch(`${gh.issuer}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & { error?: string; error_description?: string } };
  };
  const audit = async (type: string) =>
    (await gh.services.auditStore.query({ type, limit: 100 })).map((e) => ({ clientId: e.clientId, detail: e.detail }));
  return { gh, admin, audit, adminAudience };
}

/** A 400 the way the contract says: a code and a sentence, and for a refused field its name and why. */
function isBadRequest(t: Test, r: { status: number; json: Record<string, unknown> }, what: string) {
  t.equal(r.status, 400, `${what} → 400`);
  t.equal(r.json.error, 'invalid_request', `${what}: invalid_request`);
  t.type(r.json.error_description, 'string', `${what}: ${String(r.json.error_description)}`);
  const keys = Object.keys(r.json).sort();
  t.ok(
    JSON.stringify(keys) === '["error","error_description"]' || JSON.stringify(keys) === '["error","error_description","field","reason"]',
    `${what}: nothing else (${keys.join(', ')})`,
  );
  if (r.json.field !== undefined) t.ok(String(r.json.error_description).startsWith(`${String(r.json.field)}: `), `${what}: the field the sentence names`);
}

t.test('PATCH /admin/clients/:id changes only the given fields, validated and audited like create', async (t) => {
  const { gh, admin, audit } = await adminSetup(t);
  const web = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], scope: 'openid email', resources: [API] });
  const path = `/admin/clients/${web.client_id}`;

  const changed = await admin('PATCH', path, { name: 'Shop (new)', redirect_uris: ['https://shop.example.com/cb2', 'https://shop.example.com/cb3'] });
  t.equal(changed.status, 200);
  t.match(changed.json, {
    client_id: web.client_id,
    client_name: 'Shop (new)',
    redirect_uris: ['https://shop.example.com/cb2', 'https://shop.example.com/cb3'],
    scope: 'openid email',
    resources: [API],
    grant_types: ['authorization_code', 'refresh_token'],
    changed: ['name', 'redirect_uris'],
  });
  t.notOk('client_secret' in changed.json, 'an update never shows a secret');
  const stored = (await gh.services.clients.findById(web.client_id))!;
  t.same(stored.redirectUris, ['https://shop.example.com/cb2', 'https://shop.example.com/cb3'], 'a list replaces the whole list');
  t.same(await audit('client.updated'), [{ clientId: web.client_id, detail: { changed: ['name', 'redirect_uris'] } }], 'audited, naming the fields');

  const same = await admin('PATCH', path, { name: 'Shop (new)' });
  t.equal(same.status, 200);
  t.same(same.json.changed, [], 'the same value again changes nothing');
  t.equal((await audit('client.updated')).length, 1, 'and writes no audit event');

  // The same input gets the same error as at creation.
  const createBad = await admin('POST', '/admin/clients', { name: 'x', redirect_uris: ['http://evil.example.com/cb'] });
  const updateBad = await admin('PATCH', path, { redirect_uris: ['http://evil.example.com/cb'] });
  isBadRequest(t, updateBad, 'an http redirect URI');
  t.equal(updateBad.json.error_description, createBad.json.error_description, 'the very message create gives');
  const cases: [string, unknown, string?][] = [
    ['an unknown field', { name: 'x', grant_types: ['client_credentials'] }],
    ['a misspelt field', { redirect_uri: [REDIRECT] }],
    ['a name of the wrong type', { name: 5 }],
    ['a list given as a string', { redirect_uris: REDIRECT }],
    ['a list of numbers', { resources: [1] }],
    ['an empty name', { name: '   ' }],
    ['a URI with a fragment', { redirect_uris: ['https://shop.example.com/cb#x'] }],
    ['not a URL', { post_logout_redirect_uris: ['not a url'] }],
    ['no redirect URI for the code grant', { redirect_uris: [] }],
    ['an API that does not exist', { resources: ['https://nowhere.example.com'] }],
    ['an audience that is not a URI', { resources: ['orders'] }],
    ['a scope without openid for a sign-in app', { scope: 'email' }],
    ['a malformed scope', { scope: 'openid "quoted"' }],
    ['nothing to change', {}],
    ['a JSON array', [], '[]'],
    ['malformed JSON', undefined, '{"name":'],
  ];
  for (const [what, body, raw] of cases) isBadRequest(t, await admin('PATCH', path, body, raw), what);
  const noBody = await admin('PATCH', path);
  isBadRequest(t, noBody, 'no body');
  t.match(noBody.json.error_description, /nothing to change/);

  const after = (await gh.services.clients.findById(web.client_id))!;
  t.same({ ...after, updatedAt: null }, { ...stored, updatedAt: null }, 'no refused change wrote anything');
  t.equal((await audit('client.updated')).length, 1);

  const unknown = await admin('PATCH', '/admin/clients/no-such-client', { name: 'x' });
  t.equal(unknown.status, 404);
  t.same(unknown.json, { error: 'not_found', error_description: 'no client with id no-such-client' });

  // Emptying a list the CLI cannot express: the API takes [].
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  isBadRequest(t, await admin('PATCH', `/admin/clients/${job.client_id}`, { resources: [] }), 'client_credentials without an API');
  const scoped = await admin('PATCH', `/admin/clients/${job.client_id}`, { scope: 'orders:read' });
  t.equal(scoped.status, 200);
  t.equal(scoped.json.scope, 'orders:read');
  const lifted = await admin('PATCH', `/admin/clients/${job.client_id}`, { scope: '' });
  t.equal(lifted.json.scope, null, 'an empty scope lifts the limit, as at creation');
});

t.test('POST /admin/clients/:id/secret rotates a confidential client’s secret', async (t) => {
  const { gh, admin, audit } = await adminSetup(t);
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const token = (secret: string) => postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, secret));
  const path = `/admin/clients/${job.client_id}/secret`;

  const before = Date.now();
  const rotated = await admin('POST', path, { overlap: '1h' });
  t.equal(rotated.status, 200);
  t.same(Object.keys(rotated.json).sort(), ['client_id', 'client_secret', 'previous_secret_expires_at']);
  t.equal(rotated.json.client_id, job.client_id);
  t.match(rotated.json.client_secret, /^[A-Za-z0-9_-]{43}$/, 'a new 256-bit secret');
  t.not(rotated.json.client_secret, job.client_secret);
  const until = Date.parse(String(rotated.json.previous_secret_expires_at));
  t.ok(until >= before + 3600_000 && until <= Date.now() + 3600_000, 'the old secret is accepted for the hour asked');
  t.equal((await token(job.client_secret!)).status, 200, 'the old secret still works during the overlap');
  t.equal((await token(String(rotated.json.client_secret))).status, 200, 'the new one works at once');
  const shown = await admin('GET', `/admin/clients/${job.client_id}`);
  t.equal(shown.json.previous_secret_expires_at, rotated.json.previous_secret_expires_at, 'show tells until when the old secret works');
  t.notMatch(JSON.stringify(shown.json), String(rotated.json.client_secret), 'and never shows the secret');

  const now = await admin('POST', path, { overlap: '0' });
  t.equal(now.status, 200);
  t.equal(now.json.previous_secret_expires_at, null);
  t.equal((await token(String(rotated.json.client_secret))).json.error, 'invalid_client', 'overlap 0: the replaced secret stops at once');
  t.equal((await token(job.client_secret!)).json.error, 'invalid_client', 'and so does the one before it');
  t.equal((await token(String(now.json.client_secret))).status, 200);

  const byDefault = await admin('POST', path);
  t.equal(byDefault.status, 200, 'no body: the default overlap');
  t.ok(Date.parse(String(byDefault.json.previous_secret_expires_at)) >= before + 86_400_000, 'of a day');

  const events = await audit('client.secret_rotated');
  t.same(events.map((e) => e.detail.overlap_seconds), [86400, 0, 3600], 'every rotation is audited');
  t.ok(events.every((e) => e.clientId === job.client_id));
  const log = JSON.stringify(await gh.services.auditStore.query({ limit: 1000 })) + JSON.stringify(gh.logs);
  for (const secret of [rotated.json.client_secret, now.json.client_secret, byDefault.json.client_secret]) {
    t.notOk(log.includes(String(secret)), 'no secret in the audit log or the logs');
  }

  const cases: [string, unknown][] = [
    ['an overlap that is not a duration', { overlap: 'soon' }],
    ['an overlap as a number', { overlap: 60 }],
    ['a negative overlap', { overlap: '-1' }],
    ['an overlap over 30 days', { overlap: '31d' }],
    ['an unknown field', { overlap: '1h', now: true }],
  ];
  for (const [what, body] of cases) isBadRequest(t, await admin('POST', path, body), what);
  const spa = await registerClient(gh.services, { name: 'SPA', public: true, redirectUris: [REDIRECT] });
  const publicClient = await admin('POST', `/admin/clients/${spa.client_id}/secret`, {});
  isBadRequest(t, publicClient, 'a public client');
  t.match(publicClient.json.error_description, /public client/);
  t.equal((await admin('POST', '/admin/clients/no-such-client/secret', {})).status, 404);
  t.equal((await audit('client.secret_rotated')).length, 3, 'refused rotations write nothing');
  t.equal((await token(String(byDefault.json.client_secret))).status, 200, 'and the current secret still works');
});

t.test('PATCH /admin/resources?audience=… changes an API', async (t) => {
  const { gh, admin, audit, adminAudience } = await adminSetup(t);
  const path = `/admin/resources?audience=${encodeURIComponent(API)}`;
  const changed = await admin('PATCH', path, { scope: 'orders:read orders:write orders:refund', ttl: 120, description: 'the orders service' });
  t.equal(changed.status, 200);
  t.match(changed.json, { audience: API, scopes: ['orders:read', 'orders:write', 'orders:refund'], access_token_ttl: 120, description: 'the orders service', changed: ['scope', 'ttl', 'description'] });
  t.same(await audit('resource.updated'), [{ clientId: null, detail: { audience: API, changed: ['scope', 'ttl', 'description'] } }]);

  const reset = await admin('PATCH', path, { ttl: null, description: null });
  t.match(reset.json, { access_token_ttl: null, description: null, scopes: ['orders:read', 'orders:write', 'orders:refund'], changed: ['ttl', 'description'] });
  const listed = (await admin('GET', '/admin/resources')).json as unknown as { audience: string; description: string | null }[];
  t.equal(listed.find((r) => r.audience === API)?.description, null);

  const cases: [string, unknown][] = [
    ['an OIDC scope', { scope: 'openid' }],
    ['a TTL too short', { ttl: 10 }],
    ['a TTL as a string', { ttl: '5m' }],
    ['a fractional TTL', { ttl: 60.5 }],
    ['a description too long', { description: 'x'.repeat(501) }],
    ['a description on two lines', { description: 'a\nb' }],
    ['an unknown field', { scopes: ['orders:read'] }],
    ['the audience in the body', { audience: API, ttl: 60 }],
    ['nothing to change', {}],
  ];
  for (const [what, body] of cases) isBadRequest(t, await admin('PATCH', path, body), what);
  isBadRequest(t, await admin('PATCH', '/admin/resources', { ttl: 60 }), 'no audience');
  isBadRequest(t, await admin('PATCH', `/admin/resources?audience=${encodeURIComponent(adminAudience)}`, { scope: 'other' }), 'dropping the admin scope');
  const unknown = await admin('PATCH', `/admin/resources?audience=${encodeURIComponent('https://nowhere.example.com')}`, { ttl: 60 });
  t.equal(unknown.status, 404);
  t.equal(unknown.json.error, 'not_found');
  t.equal((await audit('resource.updated')).length, 2, 'refused changes write nothing');
  t.match((await gh.services.resources.find(API))!, { scopes: ['orders:read', 'orders:write', 'orders:refund'], accessTokenTtl: null, description: null });
});
