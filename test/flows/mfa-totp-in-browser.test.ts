import * as jose from 'jose';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import t from 'tap';
import { ACR_MFA, ACR_PWD } from '../../src/oidc/acr.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { artifactPath, launchChromium } from '../helpers/browser.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { startDemoApp } from '../helpers/demo-app.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { relyingParty } from '../helpers/relying-party.ts';

const API = 'https://orders.example.com';
const EMAIL = 'otto@example.com';

/**
 * An authenticator app end to end, in Debian's Chromium, with codes computed here by otpauth: enrol on
 * the account page (QR code and key, confirmed by a code), sign in to an app through openid-client
 * with password + code, a replayed code refused, a recovery code working once, and an app asking for
 * a second factor (acr_values) getting a token with acr mfa and amr otp. Screenshots of each new page.
 *
 * The clock starts at wall time (oidc-provider stamps its tokens with it) and is stepped by hand by
 * 30 s whenever a fresh code is needed: no waiting for the app's next code.
 */
t.test('TOTP enrolment, sign-in, replay, recovery codes and step-up, in Chromium', async (t) => {
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock });
  const demo = await startDemoApp(t);
  await registerApi(gh.services, API, 'orders:read');
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'], resources: [API] });
  demo.use(await relyingParty(gh, client), { scope: 'openid email orders:read', resource: API });
  await createVerifiedUser(gh.services, EMAIL, PASSWORD);

  const browser = await launchChromium(t);
  const newPage = async () => (await browser.newContext()).newPage();
  const h1 = (page: Page) => page.locator('h1').textContent();
  const shot = async (page: Page, name: string) => page.screenshot({ path: await artifactPath(`mfa-${name}.png`), fullPage: true });

  // Signed in to the account page with the password alone (no factor yet).
  const page = await newPage();
  await page.goto(`${gh.issuer}/account`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${gh.issuer}/account`);

  // Enrol: the QR code (server-made SVG) and the key as text; a wrong code first.
  await page.getByRole('link', { name: 'Authenticator app and recovery codes' }).click();
  t.equal(await h1(page), 'Second factor');
  t.match(await page.locator('#totp-status').textContent(), /Off/);
  await shot(page, 'account-off');
  await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
  t.equal(await h1(page), 'Set up an authenticator app');
  t.equal(await page.locator('figure.qr svg').count(), 1, 'the QR code is an inline SVG');
  await shot(page, 'enrol');
  const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s/g, '');
  t.match(secret, /^[A-Z2-7]{32}$/, '160-bit base32 key');
  const app = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  const code = () => app.generate({ timestamp: clock.now().getTime() });
  const wrong = String((Number(code()) + 1) % 1_000_000).padStart(6, '0');
  await page.getByLabel('Code from the app').fill(wrong);
  await page.getByRole('button', { name: 'Turn on' }).click();
  t.match(await page.getByRole('alert').textContent(), /not correct/);
  t.equal((await gh.services.secondFactors.mfa.findTotp((await gh.services.users.findByEmail(EMAIL))!.id))?.confirmedAt, null, 'still not on');
  await page.getByLabel('Code from the app').fill(code());
  await page.getByRole('button', { name: 'Turn on' }).click();
  t.equal(await h1(page), 'Your recovery codes');
  const recovery = await page.locator('#recovery-codes code').allTextContents();
  t.equal(recovery.length, 10);
  t.equal(new Set(recovery).size, 10);
  t.ok(recovery.every((c) => /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/.test(c)));
  await shot(page, 'recovery-codes');
  await page.getByRole('link', { name: 'I have saved them' }).click();
  t.match(await page.locator('#totp-status').textContent(), /On/);
  t.match(await page.locator('#recovery-left').textContent(), /10/);
  await shot(page, 'account-on');

  // The secret is stored sealed, never as the key itself.
  const row = await gh.db.prisma.totpFactor.findFirst();
  t.notMatch(row!.secret, secret);

  // Sign in to the app: password, then the second-factor page (its code was used at enrolment: next step).
  clock.advance(30);
  const signInToApp = async (p: Page, typed: string) => {
    await p.goto(`${demo.origin}/login`);
    await p.getByLabel('Email').fill(EMAIL);
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    t.equal(await h1(p), 'Confirm it’s you');
    await p.getByLabel('Code', { exact: true }).fill(typed);
    await p.getByRole('button', { name: 'Continue' }).click();
  };
  const first = await newPage();
  const used = code();
  await signInToApp(first, used);
  t.equal(await h1(first), 'Allow Demo Shop?');
  await first.getByRole('button', { name: 'Allow' }).click();
  await first.waitForURL(`${demo.origin}/callback?**`);
  t.same(demo.errors, []);
  const claims = demo.claims.at(-1)!;
  t.equal(claims.acr, ACR_MFA);
  t.same(claims.amr, ['pwd', 'otp', 'mfa']);
  const at = jose.decodeJwt(demo.tokens.at(-1)!.access_token);
  t.equal(at.acr, ACR_MFA, 'the JWT access token carries acr');
  t.same(at.amr, ['pwd', 'otp', 'mfa'], 'and amr');

  // The same code again (same step, another browser): refused.
  const replay = await newPage();
  await signInToApp(replay, used);
  t.equal(await h1(replay), 'Confirm it’s you');
  t.match(await replay.getByRole('alert').textContent(), /not correct/, 'a replayed code is refused');
  await shot(replay, 'second-factor-refused');

  // A recovery code works once (audited and mailed) …
  await replay.getByLabel('Code', { exact: true }).fill(recovery[0]!.toUpperCase());
  await replay.getByRole('button', { name: 'Continue' }).click();
  if ((await h1(replay)) === 'Allow Demo Shop?') await replay.getByRole('button', { name: 'Allow' }).click();
  await replay.waitForURL(`${demo.origin}/callback?**`);
  t.equal(demo.claims.at(-1)!.acr, ACR_MFA);
  t.same(demo.claims.at(-1)!.amr, ['pwd', 'otp', 'mfa']);
  await gh.services.background.idle();
  const mail = await lastMailTo(gh.config.dataDir, EMAIL);
  t.match(mail.subject, /recovery code was used/);
  t.match(mail.text, /left: 9/);
  const audit = await gh.services.auditStore.query({ email: EMAIL, type: 'mfa.recovery_used', limit: 5 });
  t.equal(audit.length, 1);
  t.notMatch(JSON.stringify(audit), recovery[0]!, 'the code is not in the audit log');
  // … and never again.
  const again = await newPage();
  await signInToApp(again, recovery[0]!);
  t.match(await again.getByRole('alert').textContent(), /not correct/, 'a used recovery code is refused');

  // Step-up: the account page's session was a password-only sign-in (acr pwd). An app asking for
  // acr_values=mfa gets the sign-in page again, which says why, then the second factor.
  demo.use(await relyingParty(gh, client), { scope: 'openid email orders:read', resource: API, acr_values: ACR_MFA });
  await page.goto(`${demo.origin}/login`);
  t.equal(await h1(page), 'Sign in', 'a fresh sign-in is asked for');
  t.match(await page.getByRole('status').textContent(), /asks you to confirm with your second factor/);
  await shot(page, 'step-up');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  clock.advance(30);
  await shot(page, 'second-factor');
  await page.getByLabel('Code', { exact: true }).fill(code());
  await page.getByRole('button', { name: 'Continue' }).click();
  if ((await h1(page)) === 'Allow Demo Shop?') await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${demo.origin}/callback?**`);
  t.same(demo.errors, []);
  t.equal(demo.claims.at(-1)!.acr, ACR_MFA, 'the step-up sign-in is at mfa');
  t.ok((demo.claims.at(-1)!.amr as string[]).includes('otp'));
  const stepped = jose.decodeJwt(demo.tokens.at(-1)!.access_token);
  t.equal(stepped.acr, ACR_MFA);
  t.not(stepped.acr, ACR_PWD);
});
