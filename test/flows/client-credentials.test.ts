import * as jose from 'jose';
import * as oidc from 'openid-client';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';

const API = 'https://orders.example.com';

t.test('client credentials: an RFC 9068 JWT for the API that a resource server verifies offline', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: { ACCESS_TOKEN_TTL: '5m' } });
  await registerApi(gh.services, API, 'orders:read orders:write');
  const client = await registerClient(gh.services, { name: 'billing job', grants: ['client_credentials'], resources: [API], scope: 'orders:read' });

  const config = await oidc.discovery(new URL(gh.issuer), client.client_id, client.client_secret!, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'orders:read' });
  t.equal(tokens.token_type.toLowerCase(), 'bearer');
  t.equal(tokens.expires_in, 300);

  // A resource server: discovery → jwks_uri → jose's remote key set.
  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    issuer: gh.issuer,
    audience: API,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
  t.equal(protectedHeader.typ, 'at+jwt', 'RFC 9068 §2.1');
  t.equal(protectedHeader.alg, 'ES256');
  t.equal(payload.aud, API);
  t.equal(payload.client_id, client.client_id);
  t.equal(payload.sub, client.client_id, 'a client acting for itself is the subject');
  t.equal(payload.scope, 'orders:read');
  t.equal(payload.exp! - payload.iat!, 300, 'exp - iat is the configured TTL');
  t.type(payload.jti, 'string');
});

t.test('client credentials without resource gets the default API; an API-specific TTL wins', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, API, 'orders:read', 120);
  const client = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=orders:read',
  });
  t.equal(res.status, 200);
  t.equal(res.headers.get('cache-control'), 'no-store', 'token responses are never cached');
  const body = (await res.json()) as { access_token: string; expires_in: number };
  t.equal(body.expires_in, 120);
  const claims = jose.decodeJwt(body.access_token);
  t.equal(claims.aud, API);
  t.equal(claims.exp! - claims.iat!, 120);
});

t.test('client authentication and targets are enforced', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, API, 'orders:read');
  await registerApi(gh.services, 'https://other.example.com', 'x');
  const client = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const token = (auth: string, body: string) =>
    fetch(`${gh.issuer}/token`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body });

  const wrongSecret = await token(basic(client.client_id, 'not-the-secret'), 'grant_type=client_credentials');
  t.equal(wrongSecret.status, 401);
  t.equal(((await wrongSecret.json()) as { error: string }).error, 'invalid_client');

  const unknown = await token(basic('no-such-client', 'x'), 'grant_type=client_credentials');
  t.equal(unknown.status, 401);

  const otherApi = await token(basic(client.client_id, client.client_secret!), 'grant_type=client_credentials&resource=https%3A%2F%2Fother.example.com');
  t.equal(otherApi.status, 400);
  t.equal(((await otherApi.json()) as { error: string }).error, 'invalid_target');

  const password = await token(basic(client.client_id, client.client_secret!), 'grant_type=password&username=a&password=b');
  t.equal(password.status, 400);
  t.equal(((await password.json()) as { error: string }).error, 'unsupported_grant_type');

  const notAllowed = await token(basic(client.client_id, client.client_secret!), 'grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa');
  t.equal(notAllowed.status, 400);
});
