import * as oidc from 'openid-client';
import t from 'tap';
import { launchChromium, artifactPath } from '../helpers/browser.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { startDemoApp } from '../helpers/demo-app.ts';
import { registerClient } from '../helpers/fixtures.ts';
import { lastMailTo, readOutbox } from '../helpers/outbox.ts';
import { relyingParty } from '../helpers/relying-party.ts';

/**
 * The walk-through, in Debian's Chromium: an app starts a redirect login, a new person signs
 * up, confirms the address with the link from the outbox, gets the password wrong once, signs in,
 * consents, and the app's callback exchanges the code (openid-client) for tokens whose ID token has
 * the email and `email_verified: true`.
 */
t.test('a new person signs up, confirms the email, signs in and consents, in Chromium', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, {
    name: 'Demo Shop',
    redirectUris: [demo.redirectUri],
    postLogoutRedirectUris: [`${demo.origin}/bye`],
    grants: ['authorization_code'],
  });
  const config = await relyingParty(gh, client);
  demo.use(config);

  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();

  // The app sends the browser to Gatehouse's login page.
  await page.goto(`${demo.origin}/login`);
  t.match(page.url(), new RegExp(`^${gh.issuer}/interaction/[A-Za-z0-9_-]+$`), 'the app redirected to the login page');
  t.equal(await page.locator('h1').textContent(), 'Sign in');
  t.match(await page.locator('main').textContent(), /Demo Shop/, 'the login page names the app');
  await page.screenshot({ path: await artifactPath('login-page.png'), fullPage: true });
  const loginUrl = page.url();

  // Login page → signup page.
  await page.getByRole('link', { name: 'Create an account' }).click();
  t.equal(await page.locator('h1').textContent(), 'Create an account');
  await page.screenshot({ path: await artifactPath('signup-page.png'), fullPage: true });
  await page.getByLabel('Email').fill('  New.Person@Example.com ');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  t.match(await page.getByRole('alert').textContent(), /at least 8 characters/, 'a refused password says why');
  t.equal(await page.getByLabel('Email').inputValue(), 'New.Person@Example.com', 'the typed email is kept');
  await page.getByLabel('Password').fill('a lantern by the quiet harbour');
  await page.getByRole('button', { name: 'Create account' }).click();
  t.equal(await page.locator('h1').textContent(), 'Check your inbox');
  t.match(await page.locator('main').textContent(), /new\.person@example\.com/);

  // The verification mail, from the outbox.
  await gh.services.background.idle();
  const mail = await lastMailTo(gh.config.dataDir, 'new.person@example.com');
  t.equal(mail.subject, 'Confirm your email address');
  t.match(mail.link, new RegExp(`^${gh.issuer}/account/verify-email\\?token=[A-Za-z0-9_-]{43}$`), 'the link follows the contract');

  // Opening the link shows one button; only pressing it confirms.
  await page.goto(mail.link!);
  t.equal(await page.locator('h1').textContent(), 'Confirm your email address');
  t.equal((await gh.services.users.findByEmail('new.person@example.com'))!.emailVerifiedAt, null, 'opening the link confirmed nothing');
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  t.equal(await page.locator('h1').textContent(), 'Email address confirmed');
  t.ok((await gh.services.users.findByEmail('new.person@example.com'))!.emailVerifiedAt, 'pressing the button confirmed the address');

  // Back to the same sign-in.
  await page.getByRole('link', { name: 'Continue signing in' }).click();
  t.equal(page.url(), loginUrl, 'the person returns to the interaction they left');

  // A wrong password: one generic message, the email kept, no redirect.
  await page.getByLabel('Email').fill('new.person@example.com');
  await page.getByLabel('Password').fill('not the right password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  t.equal(await page.getByRole('alert').textContent(), 'The email or password is not correct.');
  t.equal(await page.getByLabel('Email').inputValue(), 'new.person@example.com', 'the typed email is kept');
  t.match(page.url(), new RegExp(`^${gh.issuer}/interaction/`), 'no redirect to the app');
  t.equal(demo.tokens.length, 0);
  await page.screenshot({ path: await artifactPath('login-page-wrong-password.png'), fullPage: true });

  // The right password, then consent.
  await page.getByLabel('Password').fill('a lantern by the quiet harbour');
  await page.getByRole('button', { name: 'Sign in' }).click();
  t.equal(await page.locator('h1').textContent(), 'Allow Demo Shop?');
  t.match(await page.locator('ul.scopes').textContent(), /See your email address/, 'scopes in plain words');
  t.ok(await page.getByLabel('Remember this choice').isChecked(), '"remember" is offered, checked');
  await page.screenshot({ path: await artifactPath('consent-page.png'), fullPage: true });
  await page.getByRole('button', { name: 'Allow' }).click();

  // The app's callback got a code and exchanged it.
  await page.waitForURL(`${demo.origin}/callback?**`);
  t.same(demo.errors, []);
  t.equal(await page.locator('h1').textContent(), 'Signed in as new.person@example.com');
  t.equal(demo.claims.length, 1);
  const claims = demo.claims[0]!;
  t.equal(claims.email, 'new.person@example.com');
  t.equal(claims.email_verified, true);
  t.equal(claims.sub, (await gh.services.users.findByEmail('new.person@example.com'))!.id);
  t.equal((await readOutbox(gh.config.dataDir)).length, 1, 'one mail was sent in all');

  // RP-initiated logout: the confirmation form posts to Gatehouse, which redirects to the app. The
  // pages' CSP form-action (which Chromium also applies to the redirects after a submission) must
  // let both this and the consent form above reach the app's origin.
  await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: demo.tokens[0]!.id_token!, post_logout_redirect_uri: `${demo.origin}/bye` }).href);
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL(`${demo.origin}/bye`);
  t.equal(new URL(page.url()).origin, demo.origin, 'signed out and back at the app');
});

t.test('signing in before confirming offers to send the link again, in Chromium', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'] });
  demo.use(await relyingParty(gh, client));
  const browser = await launchChromium(t);
  const page = await (await browser.newContext()).newPage();

  await page.goto(`${demo.origin}/login`);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Email').fill('slow@example.com');
  await page.getByLabel('Password').fill('paper boats on a winter pond');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('link', { name: 'Continue to sign in' }).click();

  await page.getByLabel('Email').fill('slow@example.com');
  await page.getByLabel('Password').fill('paper boats on a winter pond');
  await page.getByRole('button', { name: 'Sign in' }).click();
  t.equal(await page.locator('h1').textContent(), 'Confirm your email address');
  t.match(await page.getByRole('alert').textContent(), /Confirm your email address first/);
  await page.getByRole('button', { name: 'Send the link again' }).click();
  t.equal(await page.locator('h1').textContent(), 'Link sent');
  await gh.services.background.idle();
  const mails = (await readOutbox(gh.config.dataDir)).filter((m) => m.to === 'slow@example.com');
  t.equal(mails.length, 2, 'the signup mail and the one sent again');
  t.not(mails[0]!.link, mails[1]!.link, 'a new link');

  // The newer link works and leads back to the same sign-in, which now lets the person in.
  await page.goto(mails[1]!.link!);
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  await page.getByRole('link', { name: 'Continue signing in' }).click();
  await page.getByLabel('Email').fill('slow@example.com');
  await page.getByLabel('Password').fill('paper boats on a winter pond');
  await page.getByRole('button', { name: 'Sign in' }).click();
  t.equal(await page.locator('h1').textContent(), 'Allow Demo Shop?');
});
