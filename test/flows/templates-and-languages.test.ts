import { createRequire } from 'node:module';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';
import { launchChromium } from '../helpers/browser.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { CLI_JS, MAIN_JS, runProcess } from '../helpers/processes.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/**
 * Customising and translating the pages and mails, as an operator and a person meet them: a
 * TEMPLATES_DIR override in the browser and in the outbox, a broken one refusing the start, and the
 * language chosen by ui_locales (through openid-client), Accept-Language and DEFAULT_LOCALE.
 */
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const REDIRECT = 'https://shop.example/callback';
const HOSTILE = '"<script>window.pwned=1</script>@example.com';

/** bypassCSP in every context: axe is injected as a script, which our pages' CSP (rightly) forbids. */
async function seriousViolations(page: Page, name: string): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const [violations, passes] = (await page.evaluate(`axe.run().then((r) => [r.violations, r.passes.length])`)) as [{ id: string; impact: string | null }[], number];
  if (passes < 5) return [`${name}: axe checked only ${passes} rules`];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${name}: ${v.id}`);
}

t.test('an override of the sign-in page changes it and still escapes; an override of a mail shows in the outbox', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'pages'), { recursive: true });
  await mkdir(join(dir, 'mail'), { recursive: true });
  const builtInLogin = await readFile(join(packageRoot(), 'src/templates/pages/login.eta'), 'utf8');
  await writeFile(join(dir, 'pages/login.eta'), builtInLogin.replace('<h1>', '<p class="welcome">Welcome back to <%= it.brand.productName %>, <%= it.email %></p>\n<h1>'));
  await writeFile(join(dir, 'mail/password-reset.text.eta'), 'Acme resets your password: <%= it.link %>\n');
  await writeFile(join(dir, 'mail/password-reset.html.eta'), '<p class="acme">Acme resets your password: <a href="<%= it.link %>">here</a></p>\n');
  const gh = await buildTestApp(t, { listen: true, env: { TEMPLATES_DIR: dir, PRODUCT_NAME: 'Acme' } });
  const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code'] });
  const start = await startAuthorization(await relyingParty(gh, client), { redirect_uri: REDIRECT, login_hint: HOSTILE });

  const browser = await launchChromium(t);
  const page = await (await browser.newContext({ locale: 'en-US', bypassCSP: true })).newPage();
  await page.goto(start.url.href);
  t.equal(await page.locator('p.welcome').textContent(), `Welcome back to Acme, ${HOSTILE}`, 'the operator’s words, the value as text');
  t.equal(await page.locator('h1').textContent(), 'Sign in', 'the rest of the built-in page');
  // The page's one script is our own file (/assets/passkeys.js); nothing else.
  t.equal(await page.evaluate('document.querySelectorAll("script:not([src=\'/assets/passkeys.js\'])").length'), 0, 'the hostile value made no element');
  t.equal(await page.evaluate('typeof window.pwned'), 'undefined', 'and ran nothing');
  t.equal(await page.getByLabel('Email').inputValue(), HOSTILE);

  await createVerifiedUser(gh.services, 'ann@example.com', PASSWORD);
  const res = await gh.app.inject({ method: 'POST', url: '/account/password/forgot', payload: { email: 'ann@example.com' } });
  t.equal(res.statusCode, 202);
  await gh.services.background.idle();
  const mail = await lastMailTo(gh.config.dataDir, 'ann@example.com');
  t.match(mail.text, /^Acme resets your password: http:\/\/127\.0\.0\.1:\d+\/account\/password\/reset\?token=[\w-]{43}$/, 'the text part is the operator’s');
  t.match(mail.html, /^<p class="acme">Acme resets your password: <a href="http:\/\/127\.0\.0\.1:\d+\/account\/password\/reset\?token=[\w-]{43}">here<\/a><\/p>$/, 'and so is the HTML part');
  t.equal(mail.subject, 'Reset your password', 'the subject comes from the message files');
});

t.test('a broken template, an unknown template file or an unknown DEFAULT_LOCALE refuses the start, naming it', async (t) => {
  const dir = await tempDir(t);
  const base = { DATA_DIR: join(dir, 'data'), KEYS_DIR: join(dir, 'keys'), PORT: '0', LOG_LEVEL: 'warn' };
  const broken = join(dir, 'broken');
  await mkdir(join(broken, 'pages'), { recursive: true });
  await writeFile(join(broken, 'pages/login.eta'), '<h1><%= it.t("login.title") </h1>');
  const server = await runProcess(MAIN_JS, [], { ...base, TEMPLATES_DIR: broken }, dir);
  t.equal(server.code, 1, 'the server does not start');
  t.match(server.stderr, /TEMPLATES_DIR: pages\/login\.eta: does not compile/, 'and names the file');
  const check = await runProcess(CLI_JS, ['config', 'check'], { ...base, TEMPLATES_DIR: broken }, dir);
  t.not(check.code, 0, 'config check fails too');
  t.match(check.stderr, /TEMPLATES_DIR: pages\/login\.eta: does not compile/);

  const typo = join(dir, 'typo');
  await mkdir(join(typo, 'mail'), { recursive: true });
  await writeFile(join(typo, 'mail/pasword-reset.text.eta'), 'x');
  const unknown = await runProcess(MAIN_JS, [], { ...base, TEMPLATES_DIR: typo }, dir);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /TEMPLATES_DIR: mail\/pasword-reset\.text\.eta: is not one of the template files/);

  const locale = await runProcess(MAIN_JS, [], { ...base, DEFAULT_LOCALE: 'fr' }, dir);
  t.equal(locale.code, 1);
  t.match(locale.stderr, /DEFAULT_LOCALE: is "fr", which has no messages; available: de, en/);
});

t.test('German by ui_locales (openid-client), by Accept-Language, in the mails; an unsupported language falls back; axe passes in German', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: { SUPPORT_URL: 'https://help.example.com/' } });
  const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code'] });
  const rp = await relyingParty(gh, client);
  const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as { ui_locales_supported?: string[] };
  t.same(discovery.ui_locales_supported, ['de', 'en'], 'discovery lists the languages');

  const browser = await launchChromium(t);
  const english = await (await browser.newContext({ locale: 'en-US', bypassCSP: true })).newPage();
  const problems: string[] = [];

  // ui_locales wins over the browser's English.
  await english.goto((await startAuthorization(rp, { redirect_uri: REDIRECT, ui_locales: 'fr de' })).url.href);
  t.equal(await english.locator('html').getAttribute('lang'), 'de', 'ui_locales=de: <html lang="de">');
  t.equal(await english.locator('h1').textContent(), 'Anmelden');
  problems.push(...(await seriousViolations(english, 'sign-in (de)')));
  await english.getByRole('link', { name: 'Konto erstellen' }).click();
  t.equal(await english.locator('h1').textContent(), 'Konto erstellen', 'the next page keeps the language');
  problems.push(...(await seriousViolations(english, 'sign-up (de)')));
  await english.getByLabel('E-Mail').fill('neu@example.com');
  await english.getByLabel('Passwort').fill('a quiet afternoon by the river');
  await english.getByRole('button', { name: 'Konto erstellen' }).click();
  t.equal(await english.locator('h1').textContent(), 'Sehen Sie in Ihr Postfach');
  problems.push(...(await seriousViolations(english, 'check-inbox (de)')));
  await gh.services.background.idle();
  const welcome = await lastMailTo(gh.config.dataDir, 'neu@example.com');
  t.equal(welcome.subject, `=?UTF-8?B?${Buffer.from('Bestätigen Sie Ihre E-Mail-Adresse').toString('base64')}?=`, 'the mail is in the language of the page that caused it');
  t.match(welcome.text, /^Hallo,\n\nbitte bestätigen Sie/);
  t.match(welcome.html, /<html lang="de">/);

  // An unsupported ui_locales and an English browser: English.
  await english.goto((await startAuthorization(rp, { redirect_uri: REDIRECT, ui_locales: 'fr' })).url.href);
  t.equal(await english.locator('html').getAttribute('lang'), 'en', 'ui_locales=fr: falls back');
  t.equal(await english.locator('h1').textContent(), 'Sign in');

  // Accept-Language: a German browser, on pages outside any authorization request.
  const german = await (await browser.newContext({ locale: 'de-DE', bypassCSP: true })).newPage();
  await german.goto(`${gh.issuer}/account/password/forgot`);
  t.equal(await german.locator('html').getAttribute('lang'), 'de', 'Accept-Language: de-DE');
  t.equal(await german.locator('h1').textContent(), 'Passwort vergessen?');
  t.equal(await german.locator('footer a').textContent(), 'Support von Gatehouse kontaktieren');
  problems.push(...(await seriousViolations(german, 'forgot-password (de)')));
  await createVerifiedUser(gh.services, 'anna@example.com', PASSWORD);
  await german.getByLabel('E-Mail').fill('anna@example.com');
  await german.getByRole('button', { name: 'Link senden' }).click();
  problems.push(...(await seriousViolations(german, 'reset-sent (de)')));
  await gh.services.background.idle();
  t.match((await lastMailTo(gh.config.dataDir, 'anna@example.com')).text, /^Hallo,\n\njemand, hoffentlich Sie, möchte das Passwort/);
  for (const [name, path] of [
    ['error', '/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://x.example/cb'],
    ['device-code', '/device'],
    ['sign-out', '/session/end'],
    ['sign-in-expired', '/interaction/no-such-interaction'],
    ['link-problem', '/account/password/reset?token=nope'],
  ] as const) {
    await german.goto(`${gh.issuer}${path}`);
    t.equal(await german.locator('html').getAttribute('lang'), 'de', `${name} in German`);
    problems.push(...(await seriousViolations(german, `${name} (de)`)));
  }
  t.match(await german.locator('h1').textContent(), 'Dieser Link funktioniert nicht');

  const french = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
  await french.goto(`${gh.issuer}/account/password/forgot`);
  t.equal(await french.locator('html').getAttribute('lang'), 'en', 'Accept-Language: fr-FR falls back to DEFAULT_LOCALE');
  t.same(problems, [], 'no serious or critical axe violation in German');
});

t.test('DEFAULT_LOCALE=de: a server process speaks German when the request names no language we have', async (t) => {
  const deployment = await gatehouseDeployment(t, 'sqlite', { env: { DEFAULT_LOCALE: 'de' } });
  const server = await deployment.start();
  const plain = await fetch(`${server.url}/account/password/forgot`);
  const body = await plain.text();
  t.match(body, '<html lang="de">');
  t.match(body, '<h1>Passwort vergessen?</h1>');
  const french = await (await fetch(`${server.url}/account/password/forgot`, { headers: { 'accept-language': 'fr' } })).text();
  t.match(french, '<html lang="de">', 'an unsupported language: the default');
  const english = await (await fetch(`${server.url}/account/password/forgot`, { headers: { 'accept-language': 'en-GB,en;q=0.9' } })).text();
  t.match(english, '<h1>Forgot your password?</h1>', 'a language we have still wins');
});
