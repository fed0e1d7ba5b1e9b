import t from 'tap';
import { audit } from '../helpers/axe.ts';
import { launchChromium } from '../helpers/browser.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { startDemoApp } from '../helpers/demo-app.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { relyingParty } from '../helpers/relying-party.ts';

// A hang guard, not a speed requirement: this file runs many server or CLI processes, and on a loaded
// machine (two suites side by side on two cores) such files came within reach of the default 180 s.
t.setTimeout(600_000);

/**
 * Accessibility as a test: axe-core in Chromium over every page a person can meet, in light and dark
 * mode, at 1280 px and 390 px: no serious or critical violation, and nothing wider than the screen.
 * A screenshot of each goes to test-artifacts/. Then sign-in, consent and the account page with the
 * keyboard only.
 */
t.test('every page passes axe (serious, critical) in light and dark, at 1280 and 390 px', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: { SUPPORT_URL: 'https://help.example.com/' } });
  const demo = await startDemoApp(t);
  const api = 'https://orders.example.com';
  await registerApi(gh.services, api, 'orders:read');
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'], resources: [api] });
  demo.use(await relyingParty(gh, client), { prompt: 'consent', resource: api, scope: 'openid email orders:read' });
  await createVerifiedUser(gh.services, 'a.very.long.address.for.a.narrow.screen@accessibility.example.com', PASSWORD);
  const browser = await launchChromium(t);
  const problems: string[] = [];

  for (const colorScheme of ['light', 'dark'] as const) {
    for (const width of [1280, 390]) {
      const label = `${colorScheme}-${width}`;
      // bypassCSP: axe is injected as a script, which our pages' CSP (rightly) forbids.
      const context = await browser.newContext({ colorScheme, viewport: { width, height: 900 }, bypassCSP: true });
      const page = await context.newPage();
      const check = async (name: string) => problems.push(...(await audit(page, name, label)));

      await page.goto(`${gh.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://x.example/cb`);
      await check('error');
      await page.goto(`${gh.issuer}/interaction/no-such-interaction`);
      await check('sign-in-expired');
      await page.goto(`${gh.issuer}/account/password/reset?token=nope`);
      await check('link-problem');
      await page.goto(`${gh.issuer}/account/password/forgot`);
      await check('forgot-password');
      await page.getByLabel('Email').fill('a.very.long.address.for.a.narrow.screen@accessibility.example.com');
      await page.getByRole('button', { name: 'Send me a link' }).click();
      await check('reset-sent');
      await gh.services.background.idle();
      const reset = await lastMailTo(gh.config.dataDir, 'a.very.long.address.for.a.narrow.screen@accessibility.example.com');
      await page.goto(reset.link!);
      await check('reset-password');
      await page.goto(`${gh.issuer}/device`);
      await check('device-code');
      await page.goto(`${gh.issuer}/session/end`);
      await check('signed-out-of-the-product');

      await page.goto(`${demo.origin}/login`);
      await check('sign-in');
      await page.getByLabel('Email').fill('a.very.long.address.for.a.narrow.screen@accessibility.example.com');
      await page.getByLabel('Password').fill('wrong password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await check('sign-in-error');
      await page.getByRole('link', { name: 'Create an account' }).click();
      await check('sign-up');
      const newcomer = `new.${label}@example.com`;
      await page.getByLabel('Email').fill(newcomer);
      await page.getByLabel('Password').fill('a quiet afternoon by the river');
      await page.getByRole('button', { name: 'Create account' }).click();
      await check('check-inbox');
      await page.getByRole('link', { name: 'Continue to sign in' }).click();
      await page.getByLabel('Email').fill(newcomer);
      await page.getByLabel('Password').fill('a quiet afternoon by the river');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await check('confirm-first');
      await page.getByRole('link', { name: 'Back to sign in' }).click();
      await page.getByLabel('Email').fill('a.very.long.address.for.a.narrow.screen@accessibility.example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await check('consent');
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL(`${demo.origin}/callback?**`);
      await page.goto(`${gh.issuer}/session/end`);
      await check('sign-out-question');

      await page.goto(`${gh.issuer}/account`);
      await check('account');
      await page.getByRole('region', { name: 'Password' }).getByRole('button', { name: 'Change password' }).click();
      await check('account-error');
      await page.goto(`${gh.issuer}/account/signed-out?why=everywhere`);
      await check('signed-out');
      await context.close();
    }
  }
  t.same(problems, [], 'no serious or critical violation, nothing wider than the screen');
});

t.test('sign-in, consent and the account page with the keyboard only', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'] });
  demo.use(await relyingParty(gh, client));
  await createVerifiedUser(gh.services, 'keys@example.com', PASSWORD);
  const browser = await launchChromium(t);
  const page = await (await browser.newContext()).newPage();
  const focused = async () =>
    (await page.evaluate(
      `(() => { const el = document.activeElement; return el ? el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ':' + ((el.textContent || '').trim() || el.name || '') : ''; })()`,
    )) as string;

  // Sign-in: the email field has the focus; Tab to the password; Enter submits.
  await page.goto(`${demo.origin}/login`);
  t.match(await focused(), /^input#email/, 'the email field has the focus');
  await page.keyboard.type('keys@example.com');
  await page.keyboard.press('Tab');
  t.match(await focused(), /^input#password/);
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/interaction\//);
  t.equal(await page.locator('h1').textContent(), 'Allow Demo Shop?');

  // Consent: "Allow" has the focus; Shift+Tab reaches "Remember this choice"; Space unchecks it.
  t.match(await focused(), /^button:Allow$/, 'Allow has the focus');
  await page.keyboard.press('Shift+Tab');
  t.match(await focused(), /^input#remember/);
  await page.keyboard.press('Space');
  t.notOk(await page.getByLabel('Remember this choice').isChecked(), 'unchecked with the keyboard');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${demo.origin}/callback?**`);

  // The account page: Tab through the password form and submit it with Enter.
  await page.goto(`${gh.issuer}/account`);
  const order: string[] = [];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    order.push(await focused());
  }
  t.match(order, [/^input#current-password/, /^input#new-password/, /^button:Change password$/, /^input#new-email/], 'a sensible focus order');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.type('a keyboard only passphrase');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${gh.issuer}/account?done=password`);
  t.match(await page.getByRole('status').textContent(), /Your password was changed/);
  // Every control reachable: Tab until "Delete my account".
  let reached = false;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await focused()) === 'button:Delete my account';
  }
  t.ok(reached, 'Delete my account is reachable with Tab');
});
