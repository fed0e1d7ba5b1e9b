import t from 'tap';
import { artifactPath, launchChromium } from '../helpers/browser.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { startDemoApp } from '../helpers/demo-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { relyingParty } from '../helpers/relying-party.ts';

/**
 * The account page in Debian's Chromium, every action as a person takes it: sign in from /account,
 * see the app they use, change the password (a wrong current one first), change the address with the
 * mailed link, sign out another browser, disconnect the app, sign out everywhere, and in the end
 * delete the account.
 */
t.test('every action of the account page, in Chromium', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const demo = await startDemoApp(t);
  const client = await registerClient(gh.services, { name: 'Demo Shop', redirectUris: [demo.redirectUri], grants: ['authorization_code'] });
  demo.use(await relyingParty(gh, client));
  await createVerifiedUser(gh.services, 'walker@example.com', PASSWORD);

  const browser = await launchChromium(t);
  const page = await (await browser.newContext()).newPage();
  const h1 = () => page.locator('h1').textContent();

  // Signed out: /account leads to the sign-in page, which names the account page; no consent after.
  await page.goto(`${gh.issuer}/account`);
  t.equal(await h1(), 'Sign in');
  t.match(await page.locator('main').textContent(), /to continue to your account/);
  await page.getByLabel('Email').fill('walker@example.com');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${gh.issuer}/account`);
  t.equal(await h1(), 'Your account');
  t.match(await page.locator('main').textContent(), /Signed in as walker@example\.com/);
  t.match(await page.locator('main').textContent(), /No app has access to your account/);

  // The same browser session signs in to an app without asking again; the app then shows up.
  await page.goto(`${demo.origin}/login`);
  t.equal(await h1(), 'Allow Demo Shop?', 'already signed in: only consent');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${demo.origin}/callback?**`);
  await page.goto(`${gh.issuer}/account`);
  t.match(await page.getByRole('region', { name: 'Connected apps' }).textContent(), /Demo Shop/);
  await page.screenshot({ path: await artifactPath('account-page.png'), fullPage: true });

  // A second browser signs in too.
  const other = await (await browser.newContext()).newPage();
  await other.goto(`${gh.issuer}/account`);
  await other.getByLabel('Email').fill('walker@example.com');
  await other.getByLabel('Password').fill(PASSWORD);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.waitForURL(`${gh.issuer}/account`);

  // Change the password: a wrong current password is refused in its section.
  await page.reload();
  const password = page.getByRole('region', { name: 'Password' });
  await password.getByLabel('Current password').fill('not my password');
  await password.getByLabel('New password').fill('a fresh spring morning walk');
  await password.getByRole('button', { name: 'Change password' }).click();
  t.equal(await page.getByRole('alert').textContent(), 'The current password is not correct.');
  await page.getByRole('region', { name: 'Password' }).getByLabel('Current password').fill(PASSWORD);
  await page.getByRole('region', { name: 'Password' }).getByLabel('New password').fill('a fresh spring morning walk');
  await page.getByRole('region', { name: 'Password' }).getByRole('button', { name: 'Change password' }).click();
  t.match(await page.getByRole('status').textContent(), /Your password was changed/);
  await other.reload();
  t.equal(await other.locator('h1').textContent(), 'Sign in', 'the other browser was signed out');
  t.match(await page.getByRole('region', { name: 'Connected apps' }).textContent(), /No app has access/, 'the app lost its grant');

  // Change the address.
  const email = page.getByRole('region', { name: 'Email address' });
  await email.getByLabel('New email address').fill('walker.new@example.com');
  await email.getByLabel('Current password').fill('a fresh spring morning walk');
  await email.getByRole('button', { name: 'Change email address' }).click();
  t.match(await page.getByRole('status').textContent(), /We sent a link to the new address/);
  await gh.services.background.idle();
  const mail = await lastMailTo(gh.config.dataDir, 'walker.new@example.com');
  await page.goto(mail.link!);
  await page.getByRole('button', { name: 'Confirm my new address' }).click();
  t.equal(await h1(), 'Email address changed');
  await page.getByRole('link', { name: 'Go to your account' }).click();
  t.match(await page.locator('main').textContent(), /Signed in as walker\.new@example\.com/);

  // Sign in elsewhere again, then sign that session out from here.
  await other.getByLabel('Email').fill('walker.new@example.com');
  await other.getByLabel('Password').fill('a fresh spring morning walk');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.waitForURL(`${gh.issuer}/account`);
  await page.reload();
  const sessions = page.getByRole('region', { name: 'Where you are signed in' });
  t.equal(await sessions.locator('li').count(), 2);
  await sessions.locator('li', { hasNotText: 'this browser' }).getByRole('button', { name: /Sign out/ }).click();
  t.match(await page.getByRole('status').textContent(), /The session was signed out/);
  await other.reload();
  t.equal(await other.locator('h1').textContent(), 'Sign in');

  // Connect the app again and disconnect it from here.
  await page.goto(`${demo.origin}/login`);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${demo.origin}/callback?**`);
  await page.goto(`${gh.issuer}/account`);
  await page.getByRole('button', { name: 'Disconnect Demo Shop' }).click();
  t.match(await page.getByRole('status').textContent(), /The app was disconnected/);

  // Sign out everywhere, then sign in again and delete the account.
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  t.equal(await h1(), 'You are signed out everywhere');
  await page.getByRole('link', { name: 'Sign in again' }).click();
  await page.getByLabel('Email').fill('walker.new@example.com');
  await page.getByLabel('Password').fill('a fresh spring morning walk');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${gh.issuer}/account`);
  const remove = page.getByRole('region', { name: 'Delete your account' });
  await remove.getByLabel('Current password').fill('a fresh spring morning walk');
  await remove.getByRole('button', { name: 'Delete my account' }).click();
  t.equal(await h1(), 'Your account was deleted');
  t.equal(await gh.services.users.findByEmail('walker.new@example.com'), undefined);
  await page.goto(`${gh.issuer}/account`);
  t.equal(await h1(), 'Sign in', 'nothing is signed in any more');
});
