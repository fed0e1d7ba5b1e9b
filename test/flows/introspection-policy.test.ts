import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const REDIRECT = 'https://app.example.com/callback';
const ORDERS = 'https://orders.example.com';
const BILLING = 'https://billing.example.com';

/** Each party is its own openid-client configuration: the caller of every introspection is explicit. */
async function setup(t: Test) {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, ORDERS, 'orders:read');
  await registerApi(gh.services, BILLING, 'billing:read');
  const web = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'], resources: [ORDERS, BILLING] });
  // Another confidential client of the same API, with no introspection rights: the attacker's seat.
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [ORDERS] });
  // The orders API's own client: it introspects tokens whose audience is the orders API.
  const ordersApi = await registerClient(gh.services, { name: 'orders api', grants: ['client_credentials'], resources: [ORDERS], introspects: [ORDERS] });
  await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
  const rp = { web: await relyingParty(gh, web), job: await relyingParty(gh, job), ordersApi: await relyingParty(gh, ordersApi) };
  const userTokens = async (params: Record<string, string> = {}) => {
    const start = await startAuthorization(rp.web, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent', ...params });
    const step = await signIn(new UserAgent(), start.url, REDIRECT, 'alice@example.com', PASSWORD);
    const tokens = await oidc.authorizationCodeGrant(rp.web, new URL(step.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state }, params);
    return { access_token: tokens.access_token, refresh_token: tokens.refresh_token! };
  };
  return { gh, web, job, ordersApi, rp, userTokens };
}

t.test('a client learns nothing about another client’s tokens, refresh tokens included', async (t) => {
  const { rp, web, userTokens } = await setup(t);
  const opaque = await userTokens();
  const jwt = await userTokens({ resource: ORDERS });
  for (const [name, token] of [['opaque access token', opaque.access_token], ['refresh token', opaque.refresh_token], ['JWT access token', jwt.access_token]] as const) {
    t.same(await oidc.tokenIntrospection(rp.job, token), { active: false }, `another client: ${name} is inactive to it`);
    t.match(await oidc.tokenIntrospection(rp.web, token), { active: true, client_id: web.client_id }, `the owner: ${name} is active`);
  }
  t.same(await oidc.tokenIntrospection(rp.ordersApi, opaque.refresh_token), { active: false }, 'an API never sees refresh tokens');
  t.same(await oidc.tokenIntrospection(rp.ordersApi, opaque.access_token), { active: false }, 'nor userinfo-only tokens');
});

t.test('an API’s introspector sees the access tokens for that API, and only those', async (t) => {
  const { rp, web, job, userTokens } = await setup(t);
  const forOrders = await userTokens({ resource: ORDERS });
  const forBilling = await userTokens({ resource: BILLING });
  t.match(await oidc.tokenIntrospection(rp.ordersApi, forOrders.access_token), { active: true, aud: ORDERS, client_id: web.client_id });
  t.same(await oidc.tokenIntrospection(rp.ordersApi, forBilling.access_token), { active: false }, 'another API’s token');
  const jobToken = await oidc.clientCredentialsGrant(rp.job, { scope: 'orders:read' });
  t.match(await oidc.tokenIntrospection(rp.ordersApi, jobToken.access_token), { active: true, client_id: job.client_id });
  t.match(await oidc.tokenIntrospection(rp.job, jobToken.access_token), { active: true, client_id: job.client_id }, 'a client sees its own');
});

t.test('introspection rights are validated when the client is registered', async (t) => {
  const { gh } = await setup(t);
  await t.rejects(registerClient(gh.services, { name: 'spa', redirectUris: [REDIRECT], public: true, introspects: [ORDERS] }), { code: 'invalid_request' });
  await t.rejects(registerClient(gh.services, { name: 'x', grants: ['client_credentials'], resources: [ORDERS], introspects: ['https://nowhere.example.com'] }), { code: 'invalid_request' });
});
