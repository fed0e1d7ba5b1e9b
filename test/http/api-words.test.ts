import t from 'tap';
import { createResource, updateResource } from '../../src/admin/resources.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { cli } from '../helpers/cli.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

/**
 * Words for scopes and APIs: the operator describes an API and each of its scopes (CLI, admin API);
 * the consent page shows those words instead of raw scope names; OIDC scopes have ours.
 */
const API = 'https://orders.example.com';

t.test('describe an API and its scopes; the consent page says it in those words', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const deps = { resources: gh.services.resources, clients: gh.services.clients, audit: gh.services.audit, clock: gh.services.clock, atomically: gh.services.atomically };
  const created = await createResource(deps, {
    audience: API,
    scope: 'orders:read orders:write',
    description: 'Your orders at Acme',
    scopeDescriptions: { 'orders:read': 'See your orders' },
  });
  t.same(created.scope_descriptions, { 'orders:read': 'See your orders' });
  await t.rejects(updateResource(deps, API, { scopeDescriptions: { 'refunds:write': 'Refund' } }), { field: 'scope_descriptions', reason: 'unknown_scope' } as never, 'only the API’s own scopes');
  await t.rejects(updateResource(deps, API, { scopeDescriptions: { 'orders:read': 'two\nlines' } }), { field: 'scope_descriptions', reason: 'control_characters' } as never);
  const updated = await updateResource(deps, API, { scopeDescriptions: { 'orders:write': 'Place orders for you' } });
  t.same(updated.scope_descriptions, { 'orders:read': 'See your orders', 'orders:write': 'Place orders for you' }, 'merged');
  t.same(updated.changed, ['scope_descriptions']);

  const redirectUri = 'http://127.0.0.1:9/cb';
  const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [redirectUri], grants: ['authorization_code'], resources: [API] });
  await createVerifiedUser(gh.services, 'words@example.com', PASSWORD);
  const config = await relyingParty(gh, client);
  const start = await startAuthorization(config, { redirect_uri: redirectUri, scope: 'openid email orders:read orders:write', resource: API });
  const ua = new UserAgent();
  const login = await ua.follow(start.url.href, redirectUri);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
  const consent = await ua.follow(`${gh.issuer}/interaction/${uid}/login`, redirectUri, { form: { csrf: hiddenField(login.body, 'csrf'), email: 'words@example.com', password: PASSWORD } });
  const items = [...consent.body.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]);
  t.same(
    items,
    [
      'Know who you are (your account ID)',
      'See your email address and whether it is confirmed',
      'See your orders (Your orders at Acme)',
      'Place orders for you (Your orders at Acme)',
    ],
    'OIDC scopes in our words, API scopes in the operator’s',
  );

  // Removing a scope drops its words; a scope without words shows its name and the API's.
  await updateResource(deps, API, { scope: 'orders:read refunds:write' });
  t.same((await gh.services.resources.find(API))!.scopeDescriptions, { 'orders:read': 'See your orders' });
});

t.test('the CLI: --description and repeatable --scope-description on create and update', async (t) => {
  const gh = await buildTestApp(t);
  const vars = { DATABASE_URL: gh.config.databaseUrl, DATA_DIR: gh.config.dataDir, LOG_LEVEL: 'silent' };
  const made = await cli(
    ['resources', 'create', '--audience', API, '--scope', 'orders:read orders:write', '--description', 'Your orders', '--scope-description', 'orders:read=See your orders', '--json'],
    vars,
    gh.config.dataDir,
  );
  t.equal(made.code, 0, made.stderr);
  t.same([made.json().description, made.json().scope_descriptions], ['Your orders', { 'orders:read': 'See your orders' }]);
  const bad = await cli(['resources', 'update', API, '--scope-description', 'no equals sign', '--json'], vars, gh.config.dataDir);
  t.same([bad.code, bad.json().error], [1, 'invalid_request'], 'a malformed entry is refused');
  const changed = await cli(['resources', 'update', API, '--scope-description', 'orders:read=', '--scope-description', 'orders:write=Order for you', '--json'], vars, gh.config.dataDir);
  t.equal(changed.code, 0, changed.stderr);
  t.same(changed.json().scope_descriptions, { 'orders:write': 'Order for you' }, '"scope=" removes that scope’s words');
});
