import { Secret, TOTP } from 'otpauth';
import t from 'tap';
import { systemClock } from '../../src/lib/clock.ts';
import { audit } from '../helpers/axe.ts';
import { launchChromium } from '../helpers/browser.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { createVerifiedUser, PASSWORD } from '../helpers/fixtures.ts';

/**
 * The second-factor pages pass axe (no serious or critical violation) in light and dark mode at
 * 1280 and 390 px, and fit the screen: the second-factor page overview (off and on), the set-up page
 * with its QR code (and a wrong code), the recovery codes, and the sign-in's second step.
 */
t.test('second-factor pages pass axe in light and dark, at 1280 and 390 px', async (t) => {
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock });
  const browser = await launchChromium(t);
  const problems: string[] = [];
  let n = 0;

  for (const colorScheme of ['light', 'dark'] as const) {
    for (const width of [1280, 390]) {
      const label = `${colorScheme}-${width}`;
      const email = `a.long.address.number.${n++}@second-factor.example.com`;
      await createVerifiedUser(gh.services, email, PASSWORD);
      // bypassCSP: axe is injected as a script, which our pages' CSP (rightly) forbids.
      const page = await (await browser.newContext({ colorScheme, viewport: { width, height: 900 }, bypassCSP: true })).newPage();
      const check = async (name: string) => problems.push(...(await audit(page, `mfa-${name}`, label)));
      const signIn = async () => {
        await page.goto(`${gh.issuer}/account`);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
      };

      await signIn();
      await page.goto(`${gh.issuer}/account/mfa`);
      await check('account-off');
      await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
      const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s/g, '');
      const app = new TOTP({ secret: Secret.fromBase32(secret) });
      await check('enrol');
      await page.getByLabel('Code from the app').fill('abc');
      await page.getByRole('button', { name: 'Turn on' }).click();
      await check('enrol-error');
      await page.getByLabel('Code from the app').fill(app.generate({ timestamp: clock.now().getTime() }));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await check('recovery-codes');
      await page.goto(`${gh.issuer}/account/mfa`);
      await check('account-on');

      await page.context().clearCookies();
      await signIn();
      await check('second-factor');
      await page.getByLabel('Code', { exact: true }).fill('000000-not-a-code');
      await page.getByRole('button', { name: 'Continue' }).click();
      await check('second-factor-error');
    }
  }
  t.same(problems, [], 'no serious or critical violation, nothing wider than the screen');
});
