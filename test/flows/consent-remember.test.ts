import * as oidc from 'openid-client';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

const REDIRECT = 'https://app.example.com/callback';

/**
 * "Remember this choice" on the consent page: checked, the next authorization for the same
 * permissions goes straight back to the app; unchecked, the approval covers that sign-in only (its
 * tokens work) and the app asks again next time.
 */
t.test('remembered consent is not asked again; a one-time consent is', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await createVerifiedUser(gh.services, 'lee@example.com', PASSWORD);
  const client = await registerClient(gh.services, { name: 'Notes', redirectUris: [REDIRECT], grants: ['authorization_code'] });
  const config = await relyingParty(gh, client);
  const ua = new UserAgent();

  const authorize = async (consent?: { remember: boolean }) => {
    const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email' });
    let step = await ua.follow(start.url.href, REDIRECT);
    let consented = false;
    for (let i = 0; i < 4 && !step.location?.startsWith(REDIRECT); i++) {
      const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(step.url)![1]!;
      const csrf = hiddenField(step.body, 'csrf');
      if (step.body.includes('name="password"')) {
        step = await ua.follow(`${gh.issuer}/interaction/${uid}/login`, REDIRECT, { form: { csrf, email: 'lee@example.com', password: PASSWORD } });
      } else {
        t.ok(consent, 'consent asked only when the test expects it');
        t.match(step.body, /name="remember" value="yes" checked/);
        consented = true;
        step = await ua.follow(`${gh.issuer}/interaction/${uid}/confirm`, REDIRECT, { form: { csrf, ...(consent?.remember ? { remember: 'yes' } : {}) } });
      }
    }
    const tokens = await oidc.authorizationCodeGrant(config, new URL(step.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state });
    return { consented, tokens };
  };

  const once = await authorize({ remember: false });
  t.ok(once.consented);
  const info = await oidc.fetchUserInfo(config, once.tokens.access_token, oidc.skipSubjectCheck);
  t.equal(info.email, 'lee@example.com', 'a one-time consent still gives this sign-in working tokens');
  const again = await authorize({ remember: true });
  t.ok(again.consented, 'not remembered: asked again');
  const third = await authorize();
  t.notOk(third.consented, 'remembered: straight back to the app');

  const events = await gh.services.auditStore.query({ type: 'consent.granted', limit: 10 });
  t.same(events.map((e) => e.detail.remember).sort(), [false, true]);
});
