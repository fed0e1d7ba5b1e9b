import * as oidc from 'openid-client';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const REDIRECT = 'https://console.example.com/callback';

t.test('the admin API accepts only client-credentials tokens of a live client, with any case of the Bearer scheme', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const adminAudience = `${gh.issuer}/admin`;
  const call = (authorization: string) => fetch(`${gh.issuer}/admin/users`, { headers: { authorization } });

  const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [adminAudience], scope: 'gatehouse:admin' });
  const issued = await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!));
  const token = String(issued.json.access_token);
  t.equal((await call(`Bearer ${token}`)).status, 200);
  t.equal((await call(`bearer ${token}`)).status, 200, 'RFC 6750 §2.1 / RFC 9110 §11.1: the scheme is case-insensitive');
  t.equal((await call(`BEARER ${token}`)).status, 200);
  t.equal((await call(`Basic ${token}`)).status, 401, 'another scheme is still refused');

  // A web app registered (carelessly) with the admin audience and scope: a person signs in and
  // consents, and the app gets a JWT for $ISSUER/admin carrying gatehouse:admin. It acts for a user,
  // not for the operator's client, and must not open the admin API.
  const console_ = await registerClient(gh.services, {
    name: 'console',
    redirectUris: [REDIRECT],
    grants: ['authorization_code', 'refresh_token'],
    resources: [adminAudience],
    scope: 'openid gatehouse:admin',
  });
  await createVerifiedUser(gh.services, 'mallory@example.com', PASSWORD);
  const config = await relyingParty(gh, console_);
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid gatehouse:admin', resource: adminAudience });
  const callback = await signIn(new UserAgent(), start.url, REDIRECT, 'mallory@example.com', PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(
    config,
    new URL(callback.location!),
    { pkceCodeVerifier: start.verifier, expectedState: start.state },
    { resource: adminAudience },
  );
  const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.match(claims, { aud: adminAudience, scope: 'gatehouse:admin', client_id: console_.client_id }, 'the token has the admin audience and scope');
  const userToken = await call(`Bearer ${tokens.access_token}`);
  t.equal(userToken.status, 401, "a token derived from a user's grant is refused");
  t.match(await userToken.json(), { error: 'invalid_token' });
  t.match(userToken.headers.get('www-authenticate'), /^Bearer realm="gatehouse-admin", error="invalid_token"/);

  await gh.services.clients.delete(ops.client_id);
  t.equal((await call(`Bearer ${token}`)).status, 401, 'a deleted client’s token stops working at once');
});
