import * as oidc from 'openid-client';
import t from 'tap';
import { banDependencies, banUser } from '../../src/admin/bans.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

/**
 * Every error, expired and disabled page says what happened and offers the next step (the account
 * page, the sign-in again, the operator's support link); logout names the app and the product.
 */
const BRAND = { PRODUCT_NAME: 'Acme ID', SUPPORT_URL: 'https://help.acme.example/' };
const links = (body: string) => [...body.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]!.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))));

t.test('error, expired, refused and disabled pages all lead on; the brand is on each', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: BRAND });
  const redirectUri = 'http://127.0.0.1:9/cb';
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [redirectUri], grants: ['authorization_code'] });
  const ua = new UserAgent();

  const pages: Record<string, { status: number; body: string }> = {};
  // The engine's error page: an unknown app cannot be sent back to.
  pages.unknownClient = await ua.request(`${gh.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://x.example/cb`);
  // An interaction that does not exist (expired, finished).
  pages.expired = await ua.request(`${gh.issuer}/interaction/no-such-interaction`);
  // A form with a forged CSRF token.
  const config = await relyingParty(gh, client);
  const start = await startAuthorization(config, { redirect_uri: redirectUri, scope: 'openid' });
  const login = await ua.follow(start.url.href, redirectUri);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
  pages.forged = await ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf: 'forged', email: 'a@example.com', password: 'whatever it is' } });
  // A disabled (banned) account with the right password.
  await createVerifiedUser(gh.services, 'banned@example.com', PASSWORD);
  await banUser(banDependencies(gh.services, 'test'), 'banned@example.com', 'test');
  pages.disabled = await ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf: hiddenField(login.body, 'csrf'), email: 'banned@example.com', password: PASSWORD } });
  // A dead mailed link, and a malformed request to a page.
  pages.deadLink = await ua.request(`${gh.issuer}/account/password/reset?token=nope`);
  pages.badInput = await ua.request(`${gh.issuer}/account/verify-email`, { form: { token: 'x'.repeat(300) } });

  for (const [name, page] of Object.entries(pages)) {
    t.ok(page.status >= 400, `${name}: an error status (${page.status})`);
    t.match(page.body, /<title>[^<]* · Acme ID<\/title>/, `${name}: the product's name`);
    const hrefs = links(page.body);
    t.ok(hrefs.includes('https://help.acme.example/'), `${name}: the support link`);
    t.ok(hrefs.some((h) => h === '/account' || h.startsWith('/interaction/') || h.startsWith('/account/')), `${name}: a next step (${hrefs.join(', ')})`);
  }
  t.match(pages.disabled!.body, /This account is disabled/);
  t.match(pages.forged!.body, new RegExp(`href="/interaction/${uid}"`), 'a refused form leads back to the same sign-in');
});

t.test('logout names the app and the product, and the signed-out page leads on', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: BRAND });
  const redirectUri = 'http://127.0.0.1:9/cb';
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [redirectUri], grants: ['authorization_code'] });
  await createVerifiedUser(gh.services, 'out@example.com', PASSWORD);
  const config = await relyingParty(gh, client);
  const ua = new UserAgent();
  const start = await startAuthorization(config, { redirect_uri: redirectUri, scope: 'openid' });
  const back = await signIn(ua, start.url, redirectUri, 'out@example.com', PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state });

  const ask = await ua.request(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).href);
  t.equal(ask.status, 200);
  t.match(ask.body, /<h1>Sign out of Demo Shop and Acme ID\?<\/h1>/);
  t.notMatch(/<main[\s\S]*<\/main>/.exec(ask.body)![0].replace(/<form[\s\S]*?<\/form>/, ''), /127\.0\.0\.1/, 'no host name in what the person reads');
  const form = Object.fromEntries([...ask.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  const action = /<form[^>]*action="([^"]+)"/.exec(ask.body)![1]!;
  const done = await ua.follow(new URL(action, gh.issuer).href, undefined, { form: { ...form, logout: 'yes' } });
  t.match(done.body, /You have signed out of (Demo Shop and )?Acme ID\./, 'the product is named');
  t.ok(links(done.body).includes('/account'), 'sign in again from there');
  t.ok(links(done.body).includes('https://help.acme.example/'));
});
