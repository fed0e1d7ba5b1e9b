import * as oidc from 'openid-client';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const API = 'https://orders.example.com';
const REDIRECT = 'https://app.example.com/callback';

/**
 * A code or device request naming an API (resource=) but none of its scopes would get a JWT for that
 * API with no scope, answered as `"scope": ""` (RFC 6749 §3.3: a scope has at least one value).
 * Gatehouse refuses it up front with invalid_scope, before anyone signs in.
 */
t.test('resource=<API> without any of its scopes is invalid_scope, in the code and device flows', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, API, 'orders:read orders:write');
  await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
  const web = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code'], resources: [API] });
  const config = await relyingParty(gh, web);

  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email', resource: API });
  const answer = await fetch(start.url, { redirect: 'manual' });
  t.equal(answer.status, 303, 'answered at once with a redirect back to the app, no login page');
  const back = new URL(answer.headers.get('location')!, gh.issuer);
  t.equal(`${back.origin}${back.pathname}`, REDIRECT);
  const refused = await oidc
    .authorizationCodeGrant(config, back, { pkceCodeVerifier: start.verifier, expectedState: start.state }, { resource: API })
    .then(() => undefined, (e: unknown) => e as oidc.AuthorizationResponseError);
  t.ok(refused instanceof oidc.AuthorizationResponseError, 'openid-client sees an error response');
  t.equal(refused?.error, 'invalid_scope');
  t.match(refused?.error_description, /orders:read/, 'the description names the scopes the API offers');

  // The same request with one of the API's scopes works, and the token response names it.
  const good = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid orders:read', resource: API });
  const callback = await signIn(new UserAgent(), good.url, REDIRECT, 'alice@example.com', PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback.location!), { pkceCodeVerifier: good.verifier, expectedState: good.state }, { resource: API });
  t.equal(tokens.scope, 'orders:read');

  const tv = await registerClient(gh.services, { name: 'TV', grants: ['urn:ietf:params:oauth:grant-type:device_code'], public: true, resources: [API] });
  const tvConfig = await relyingParty(gh, tv);
  const device = await oidc.initiateDeviceAuthorization(tvConfig, { scope: 'openid', resource: API }).then(
    () => undefined,
    (e: unknown) => e as oidc.ResponseBodyError,
  );
  t.ok(device instanceof oidc.ResponseBodyError, 'the device authorization request is refused');
  t.equal(device?.error, 'invalid_scope');
  t.equal(device?.status, 400);
  t.ok(await oidc.initiateDeviceAuthorization(tvConfig, { scope: 'openid orders:read', resource: API }), 'with an API scope it is accepted');
});
