import * as oidc from 'openid-client';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

const API = 'https://tv.example.com';
const REDIRECT = 'https://app.example.com/callback';

t.test('device authorization grant: a TV shows a code, the person approves it in a browser', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, API, 'watch');
  const tv = await registerClient(gh.services, { name: 'Living-room TV', grants: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], public: true, resources: [API] });
  const user = await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
  const config = await relyingParty(gh, tv);

  const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid email offline_access' });
  t.match(device.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
  t.ok(device.verification_uri_complete);

  // The person types the code on the device page, logs in, consents, confirms.
  const ua = new UserAgent();
  const input = await ua.follow(device.verification_uri);
  t.equal(input.status, 200);
  t.match(input.body, /Enter the code shown on your device/);
  const confirm = await ua.follow(`${gh.issuer}/device`, undefined, { form: { xsrf: hiddenField(input.body, 'xsrf'), user_code: device.user_code } });
  t.match(confirm.body, /Living-room TV/, 'the confirmation names the device');
  t.match(confirm.body, new RegExp(device.user_code), 'and shows the code to compare');
  let step = await ua.follow(`${gh.issuer}/device`, undefined, {
    form: { xsrf: hiddenField(confirm.body, 'xsrf'), user_code: hiddenField(confirm.body, 'user_code'), confirm: 'yes' },
  });
  for (let i = 0; i < 4 && !/Device connected/.test(step.body); i++) {
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(step.url)?.[1];
    if (!uid) break;
    const csrf = hiddenField(step.body, 'csrf');
    step = step.body.includes('name="password"')
      ? await ua.follow(`${gh.issuer}/interaction/${uid}/login`, undefined, { form: { csrf, email: 'alice@example.com', password: PASSWORD } })
      : await ua.follow(`${gh.issuer}/interaction/${uid}/confirm`, undefined, { form: { csrf } });
  }
  t.match(step.body, /Device connected/);
  t.match(step.body, /Living-room TV is signed in/);

  // The device's next poll (sent now rather than after `interval` seconds: no sleeping in tests).
  const tokens = await oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:device_code', { device_code: device.device_code });
  t.equal(tokens.claims()!.sub, user.id);
  t.equal(tokens.claims()!.email, 'alice@example.com');
  t.ok(tokens.refresh_token);
});

t.test('a wrong device code is refused on the page, and the device keeps waiting', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const tv = await registerClient(gh.services, { name: 'TV', grants: ['urn:ietf:params:oauth:grant-type:device_code'], public: true });
  const config = await relyingParty(gh, tv);
  const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
  const ua = new UserAgent();
  const input = await ua.follow(device.verification_uri);
  const wrong = await ua.follow(`${gh.issuer}/device`, undefined, { form: { xsrf: hiddenField(input.body, 'xsrf'), user_code: 'BCDF-GHJK' } });
  t.match(wrong.body, /not valid or has expired/);
  const early = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: tv.client_id }),
  });
  t.equal(early.status, 400);
  t.equal(((await early.json()) as { error: string }).error, 'authorization_pending');
});

t.test('pushed authorization requests (RFC 9126) start a normal code flow', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT] });
  await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
  const config = await relyingParty(gh, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  t.ok(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'));
  t.notOk(url.searchParams.get('redirect_uri'), 'the parameters travelled by the back channel');
  const step = await signIn(new UserAgent(), url, REDIRECT, 'alice@example.com', PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(step.location!), { pkceCodeVerifier: verifier, expectedState: state });
  t.equal(tokens.claims()!.email, 'alice@example.com');
});
