import { createRequire } from 'node:module';
import { Secret, TOTP } from 'otpauth';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/accounts/mfa/second-factors.ts';
import type { BrowserContext, Page } from 'playwright-core';
import t from 'tap';
import { artifactPath, launchChromium } from '../helpers/browser.ts';
import { buildTestApp, type TestApp } from '../helpers/build-app.ts';
import { startDemoApp } from '../helpers/demo-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty } from '../helpers/relying-party.ts';

/**
 * Passkeys in Debian's Chromium with a CDP virtual authenticator (a platform authenticator holding
 * discoverable credentials, verifying its user): register on the account page, name and rename,
 * sign in to an app with no password through a real openid-client authorization code flow, remove
 * the passkey and see it refused, and a banned account's passkey refused.
 */

/** A virtual platform authenticator (CTAP2, internal transport, resident keys, user verification) for this page. */
async function addAuthenticator(context: BrowserContext, page: Page): Promise<string> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return authenticatorId;
}

async function signInWithPassword(page: Page, gh: TestApp, email: string) {
  await page.goto(`${gh.issuer}/account`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${gh.issuer}/account`);
}

async function addPasskey(page: Page, gh: TestApp, name: string) {
  const region = page.getByRole('region', { name: 'Passkeys' });
  await region.getByLabel('Name', { exact: true }).last().fill(name);
  await region.getByRole('button', { name: 'Add a passkey' }).click();
  await page.waitForURL(`${gh.issuer}/account#passkeys-heading`);
  await region.locator('li', { hasText: name }).waitFor();
}

/**
 * Chromium's virtual authenticator answers a conditional (autofill) request at once, as if the person
 * had picked the passkey from the email field's suggestions. Where a test wants the button instead,
 * the page says it has no autofill for passkeys.
 */
async function withoutAutofill(page: Page) {
  await page.addInitScript({
    content: "Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', { value: async () => false, configurable: true });",
  });
}

/** The login page of an app's authorization request, then the passkey instead of the password. */
async function usePasskeyAt(page: Page, url: string) {
  await page.goto(url);
  await page.locator('h1', { hasText: 'Sign in' }).waitFor();
  await page.getByRole('button', { name: 'Use a passkey' }).click();
}

t.test('register, name, sign in with no password, remove: passkeys in Chromium', async (t) => {
  const gh = await buildTestApp(t, { listen: true, issuerHost: 'localhost' });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'] });
  demo.use(await relyingParty(gh, client));
  const user = await createVerifiedUser(gh.services, 'keys@example.com', PASSWORD);

  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  await addAuthenticator(context, page);

  // No passkey yet; the section says so. Add one named "Laptop".
  await signInWithPassword(page, gh, 'keys@example.com');
  t.match(await page.getByRole('region', { name: 'Passkeys' }).textContent(), /You have no passkeys yet/);
  await page.screenshot({ path: await artifactPath('passkeys-account-empty.png'), fullPage: true });
  await addPasskey(page, gh, 'Laptop');

  // A second passkey from another authenticator (a second page of the same signed-in browser).
  const second = await context.newPage();
  await addAuthenticator(context, second);
  await second.goto(`${gh.issuer}/account`);
  await addPasskey(second, gh, 'Blue key');
  await second.close();

  const stored = await gh.services.passkeys.listByUser(user.id);
  t.same(stored.map((p) => p.name), ['Laptop', 'Blue key'], 'two passkeys, named');
  t.same(stored.map((p) => [p.deviceType, p.backedUp, p.counter >= 0]), [['singleDevice', false, true], ['singleDevice', false, true]]);
  t.notOk(JSON.stringify(stored).includes(PASSWORD), 'nothing but public material');

  // Rename the second one (a plain form: no script needed).
  await page.reload();
  const blue = page.getByRole('region', { name: 'Passkeys' }).locator('li', { hasText: 'Blue key' });
  await blue.getByLabel('Name').fill('Yubikey 5');
  await blue.getByRole('button', { name: 'Rename' }).click();
  await page.waitForURL(`${gh.issuer}/account#passkeys-heading`);
  const names = await page.locator('#passkeys .passkey-name').allTextContents();
  t.same(names, ['Laptop', 'Yubikey 5']);
  await page.screenshot({ path: await artifactPath('passkeys-account-two.png'), fullPage: true });

  // The login page offers passkeys: the email field's autofill and a button (a browser without an authenticator).
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(`${demo.origin}/login`);
  t.equal(await stranger.getByLabel('Email').getAttribute('autocomplete'), 'username webauthn', 'autofill offers passkeys');
  t.ok(await stranger.getByRole('button', { name: 'Use a passkey' }).isVisible());
  await stranger.screenshot({ path: await artifactPath('passkeys-login.png'), fullPage: true });

  // Signed out, sign in to the app with the passkey picked from the autofill: no password.
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.locator('h1', { hasText: 'signed out everywhere' }).waitFor();
  await page.goto(`${demo.origin}/login`);
  await page.locator('h1', { hasText: 'Allow Demo Shop?' }).waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${demo.origin}/callback?**`);
  t.same(demo.errors, []);
  const claims = demo.claims.at(-1)!;
  t.equal(claims.sub, user.id);
  t.same(claims.amr, ['hwk', 'user', 'mfa'], 'a device-bound passkey with user verification');
  const laptop = (await gh.services.passkeys.listByUser(user.id)).find((p) => p.name === 'Laptop')!;
  t.ok(laptop.lastUsedAt, 'last use recorded');
  const signedIn = await gh.services.auditStore.query({ type: 'login.succeeded', email: 'keys@example.com', limit: 5 });
  t.match(signedIn[0]?.detail, { method: 'passkey', amr: 'hwk user mfa' });

  // Remove "Laptop" (the passkey this browser's authenticator holds) from the account page.
  await page.goto(`${gh.issuer}/account`);
  t.match(await page.locator('h1').textContent(), 'Your account', 'the passkey sign-in is a session like any other');
  await page.getByRole('button', { name: 'Remove the passkey Laptop' }).click();
  await page.waitForURL(`${gh.issuer}/account#passkeys-heading`);
  t.same(await page.locator('#passkeys .passkey-name').allTextContents(), ['Yubikey 5']);
  t.equal((await gh.services.auditStore.query({ type: 'passkey.removed', limit: 5 })).length, 1, 'audited');

  // The authenticator still offers it (the button this time); the server no longer knows it.
  await withoutAutofill(page);
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.locator('h1', { hasText: 'signed out everywhere' }).waitFor();
  await usePasskeyAt(page, `${demo.origin}/login`);
  await page.getByRole('alert').waitFor();
  t.match(await page.getByRole('alert').textContent(), /not registered with any account/);
  t.match(page.url(), /\/interaction\/[^/]+\/passkey$/);
  t.equal(demo.claims.length, 1, 'no second sign-in');
  await page.screenshot({ path: await artifactPath('passkeys-login-refused.png'), fullPage: true });
});

t.test("a banned account's passkey is refused", async (t) => {
  const gh = await buildTestApp(t, { listen: true, issuerHost: 'localhost' });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'] });
  demo.use(await relyingParty(gh, client));
  const user = await createVerifiedUser(gh.services, 'banned@example.com', PASSWORD);

  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  await addAuthenticator(context, page);
  await withoutAutofill(page);
  await signInWithPassword(page, gh, 'banned@example.com');
  await addPasskey(page, gh, 'Phone');

  // The operator bans the account (users ban: status, and every session ends).
  await gh.services.users.update(user.id, { status: 'banned', banReason: 'test', bannedAt: new Date(), updatedAt: new Date() });
  await gh.services.oidcStore.revokeByAccountId(user.id);

  await usePasskeyAt(page, `${demo.origin}/login`);
  await page.getByRole('alert').waitFor();
  t.match(await page.getByRole('alert').textContent(), /This account is disabled/);
  t.equal(demo.claims.length, 0, 'no sign-in reached the app');
  const failed = await gh.services.auditStore.query({ type: 'login.failed', email: 'banned@example.com', limit: 5 });
  t.match(failed[0]?.detail, { method: 'passkey', reason: 'banned' });
});

t.test('the passkey parts of the account and sign-in pages pass axe (serious, critical), light and dark, at 390 px', async (t) => {
  const axe = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
  const gh = await buildTestApp(t, { listen: true, issuerHost: 'localhost' });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'] });
  demo.use(await relyingParty(gh, client));
  await createVerifiedUser(gh.services, 'narrow@example.com', PASSWORD);
  const browser = await launchChromium(t);
  for (const colorScheme of ['light', 'dark'] as const) {
    // bypassCSP: axe is injected as an inline script, which the pages' CSP (rightly) forbids.
    const context = await browser.newContext({ colorScheme, viewport: { width: 390, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await addAuthenticator(context, page);
    await withoutAutofill(page);
    if (colorScheme === 'light') {
      await signInWithPassword(page, gh, 'narrow@example.com');
      await addPasskey(page, gh, 'A rather long name for a passkey on a phone');
    }
    const check = async (name: string) => {
      await page.addScriptTag({ path: axe });
      const [violations, passes] = (await page.evaluate(`axe.run().then((r) => [r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')), r.passes.length])`)) as [string[], number];
      t.ok(passes >= 5, `${name} (${colorScheme}): axe ran`);
      t.same(violations, [], `${name} (${colorScheme}): no serious or critical violations`);
      const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      t.ok(width <= 390, `${name} (${colorScheme}): fits 390 px (${width})`);
      await page.screenshot({ path: await artifactPath(`passkeys-${name}-${colorScheme}-390.png`), fullPage: true });
    };
    if (colorScheme === 'dark') await signInWithPassword(page, gh, 'narrow@example.com');
    await page.goto(`${gh.issuer}/account`);
    await page.getByRole('button', { name: 'Add a passkey' }).waitFor();
    await check('account');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.locator('h1', { hasText: 'signed out everywhere' }).waitFor();
    await page.goto(`${demo.origin}/login`);
    await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
    await check('login');
    await context.close();
  }
});

t.test('a passkey as the second factor after the password', async (t) => {
  const gh = await buildTestApp(t, { listen: true, issuerHost: 'localhost' });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'] });
  demo.use(await relyingParty(gh, client));
  const user = await createVerifiedUser(gh.services, 'second@example.com', PASSWORD);

  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  await addAuthenticator(context, page);
  // The email field's autofill would sign in with the passkey alone; here the password comes first.
  await withoutAutofill(page);
  await signInWithPassword(page, gh, 'second@example.com');
  await addPasskey(page, gh, 'Laptop');
  // Two-step sign-in is on (an authenticator app, turned on through the use cases).
  const { secret } = await startTotpEnrolment(gh.services.secondFactors, user);
  const app = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  await confirmTotpEnrolment(gh.services.secondFactors, user, app.generate(), { ip: '127.0.0.1' });
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.locator('h1', { hasText: 'signed out everywhere' }).waitFor();

  await page.goto(`${demo.origin}/login`);
  await page.getByLabel('Email').fill('second@example.com');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('h1', { hasText: 'Confirm it’s you' }).waitFor();
  t.ok(await page.getByLabel('Code').isVisible(), "the app's code field");
  await page.screenshot({ path: await artifactPath('passkeys-second-factor.png'), fullPage: true });
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.locator('h1', { hasText: 'Allow Demo Shop?' }).waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${demo.origin}/callback?**`);
  t.same(demo.errors, []);
  const claims = demo.claims.at(-1)!;
  t.equal(claims.sub, user.id);
  t.same(claims.amr, ['pwd', 'hwk', 'user', 'mfa'], 'the password, then the passkey');
  t.equal(claims.acr, 'urn:gatehouse:acr:mfa');
});
