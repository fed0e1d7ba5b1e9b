import * as jose from 'jose';
import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { cli } from '../helpers/cli.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic, postForm } from '../helpers/tokens.ts';

const API = 'https://api.example.com';

/**
 * The watcher re-reads the keyring only every hour here, so whatever happens sooner is the work of
 * the checks themselves, not of a lucky reload.
 */
async function setup(t: Test) {
  const gh = await buildTestApp(t, { listen: true, env: { KEY_RELOAD_INTERVAL: '1h' } });
  const adminAudience = `${gh.issuer}/admin`;
  await registerApi(gh.services, API, 'read');
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const api = await registerClient(gh.services, { name: 'api', grants: ['client_credentials'], resources: [API], introspects: [API] });
  const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [adminAudience], scope: 'gatehouse:admin' });
  const token = async (c: { client_id: string; client_secret?: string }, scope?: string) => {
    const r = await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, basic(c.client_id, c.client_secret!));
    t.equal(r.status, 200);
    return String(r.json.access_token);
  };
  const introspect = async (tok: string) => (await postForm(`${gh.issuer}/token/introspection`, { token: tok }, basic(api.client_id, api.client_secret!))).json;
  const admin = (bearer: string, method = 'GET', path = '/admin/clients', body?: unknown) =>
    fetch(`${gh.issuer}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const vars = { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, DATA_DIR: gh.config.dataDir, LOG_LEVEL: 'silent' };
  return { gh, job, ops, token, introspect, admin, vars };
}

t.test('keys revoke from the CLI: our own checks refuse the key’s tokens at once, and this instance stops signing with it', async (t) => {
  const { gh, job, ops, token, introspect, admin, vars } = await setup(t);
  const jobToken = await token(job);
  const adminToken = await token(ops, 'gatehouse:admin');
  const kid = jose.decodeProtectedHeader(jobToken).kid!;
  t.equal(jose.decodeProtectedHeader(adminToken).kid, kid);
  t.equal((await introspect(jobToken)).active, true);
  t.equal((await admin(adminToken)).status, 200);

  // Another process changes the keyring; this instance is not told.
  const revoked = await cli(['keys', 'revoke', kid, '--json'], vars, gh.config.dataDir);
  t.equal(revoked.code, 0, revoked.stderr);

  t.same(await introspect(jobToken), { active: false }, 'introspection: inactive at once');
  const refused = await admin(adminToken);
  t.equal(refused.status, 401, 'admin API: refused at once');
  t.equal(((await refused.json()) as { error: string }).error, 'invalid_token');
  const fresh = await token(job);
  t.not(jose.decodeProtectedHeader(fresh).kid, kid, 'the instance that saw it no longer signs with the revoked key');
  t.equal((await introspect(fresh)).active, true, 'the replacement key works');
});

t.test('keys revoke through the admin API: the instance that ran it stops signing with the key at once', async (t) => {
  const { job, ops, token, admin } = await setup(t);
  const adminToken = await token(ops, 'gatehouse:admin');
  const es256 = jose.decodeProtectedHeader(await token(job)).kid!;
  const res = await admin(adminToken, 'POST', '/admin/keys/revoke', { kid: es256 });
  t.equal(res.status, 200);
  t.not(jose.decodeProtectedHeader(await token(job)).kid, es256, 'the next token is signed by the replacement');
});
