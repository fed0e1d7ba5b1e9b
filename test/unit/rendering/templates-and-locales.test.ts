import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { acceptedLanguages, chooseLocale } from '../../../src/i18n/choose-locale.ts';
import { packageRoot } from '../../../src/lib/package-root.ts';
import { createPresentation, presentationProblems } from '../../../src/rendering/presentation.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const LOCALES = join(packageRoot(), 'src', 'locales');
const readLocale = async (name: string) => JSON.parse(await readFile(join(LOCALES, `${name}.json`), 'utf8')) as Record<string, string>;
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

t.test('German is complete: every English key, the same placeholders, nothing left empty', async (t) => {
  const en = await readLocale('en');
  const de = await readLocale('de');
  t.same(Object.keys(de).sort(), Object.keys(en).sort(), 'the same keys');
  const wrong = Object.keys(en).filter((k) => JSON.stringify(placeholders(en[k]!)) !== JSON.stringify(placeholders(de[k] ?? '')) || !de[k]?.trim());
  t.same(wrong, [], 'the same {placeholders}, no empty sentence');
});

t.test('the language: ui_locales first, then Accept-Language by q-value, then the default', async (t) => {
  const have = ['de', 'en'];
  t.equal(chooseLocale({ uiLocales: 'fr de en' }, have, 'en'), 'de', 'the first ui_locales entry we have');
  t.equal(chooseLocale({ uiLocales: 'de-CH', acceptLanguage: 'en' }, have, 'en'), 'de', 'a region takes its language; ui_locales wins');
  t.equal(chooseLocale({ acceptLanguage: 'fr;q=1, en;q=0.5, de;q=0.8' }, have, 'en'), 'de', 'by q-value');
  t.equal(chooseLocale({ acceptLanguage: 'de;q=0, en-GB' }, have, 'de'), 'en', 'q=0 means not this one');
  t.equal(chooseLocale({ uiLocales: 'fr', acceptLanguage: 'es, *' }, have, 'de'), 'de', 'nothing we have: the default');
  t.equal(chooseLocale({}, have, 'en'), 'en');
  t.same(acceptedLanguages('da, en-gb;q=0.8, en;q=0.7'), ['da', 'en-gb', 'en']);
});

/** Pages and mails with values for every variable they show, so every sentence renders. */
const SAMPLE_SESSION = { uid: 's1', signedInAt: new Date(Date.UTC(2026, 0, 15, 10)), current: true, apps: ['Demo Shop'] };
const PAGES: Record<string, object> = {
  login: { uid: 'u', csrf: 'c', clientName: 'Demo Shop', error: { key: 'login.failed' }, notice: 'resent.sentence' },
  signup: { uid: 'u', csrf: 'c', clientName: 'Demo Shop', error: { key: 'field.password.too_short' } },
  'check-inbox': { uid: 'u', email: 'ann@example.com' },
  unverified: { uid: 'u', csrf: 'c', ticket: 't', email: 'ann@example.com' },
  resent: { uid: 'u' },
  consent: { uid: 'u', csrf: 'c', clientName: 'Demo Shop', email: 'ann@example.com', permissions: [{ key: 'scope.openid' }, { key: 'scope.email' }, { key: 'scope.offline_access' }] },
  message: { heading: 'link_problem.title', sentence: [{ key: 'token.used' }, { key: 'token.verify_again' }], links: [{ href: '/account', text: 'link.account' }, { href: '/x', text: 'link.back_to_sign_in' }] },
  'confirm-email': { token: 't', csrf: 'c' },
  'confirm-email-change': { token: 't', csrf: 'c' },
  'forgot-password': { error: { key: 'field.email.invalid' } },
  'reset-sent': { email: 'ann@example.com' },
  'reset-password': { token: 't', csrf: 'c', error: { key: 'field.password.too_common' } },
  account: {
    csrf: 'c',
    email: 'ann@example.com',
    emailVerified: false,
    sessions: [SAMPLE_SESSION, { ...SAMPLE_SESSION, uid: 's2', current: false, signedInAt: null }],
    apps: [{ clientId: 'demo', name: 'Demo Shop', permissions: [{ key: 'scope.email' }] }],
    passkeys: [
      { id: 'cred-a', name: 'Laptop', synced: true, createdAt: new Date('2026-01-15T10:00:00Z'), lastUsedAt: new Date('2026-01-16T10:00:00Z') },
      { id: 'cred-b', name: 'Blue key', synced: false, createdAt: new Date('2026-01-15T10:00:00Z'), lastUsedAt: null },
    ],
    notice: 'account.done.password',
    error: { section: 'email', sentence: { key: 'field.email.unchanged' } },
  },
  error: { sentence: 'error.invalid_client', code: 'invalid_client', clientName: 'Demo Shop' },
  logout: { form: '<form id="op.logoutForm"></form>', clientName: 'Demo Shop' },
  'logout-success': { clientName: undefined },
  'device-input': { form: '<form id="op.deviceInputForm"></form>', message: { text: 'device_input.enter', error: false } },
  'device-confirm': { form: '<form id="op.deviceConfirmForm"></form>', clientName: 'TV', userCode: 'ABCD-EFGH' },
  'device-success': { clientName: 'TV' },
  'second-factor': { uid: 'u', csrf: 'c', ticket: 't', clientName: 'Demo Shop', methods: ['totp', 'recovery_code'], error: { key: 'second_factor.failed' } },
  'totp-enrol': { csrf: 'c', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', qrSvg: '<svg></svg>', action: '/account/mfa/totp/confirm', ticket: 't', required: true, cancel: '/account/mfa', error: { key: 'totp_enrol.failed' } },
  'recovery-codes': { codes: ['0123-4567-89ab-cdef'], enabled: true, csrf: 'c', ticket: 't', continueAction: '/interaction/u/mfa/continue' },
  'account-mfa': { csrf: 'c', email: 'ann@example.com', totp: 'enabled', offered: true, recoveryCodesLeft: 9, notice: 'account_mfa.totp.disabled', error: { key: 'account_mfa.totp.need_proof' } },
};
const MAILS = ['verify-email', 'account-exists', 'finish-signup', 'password-reset', 'password-changed', 'password-disabled', 'email-change', 'email-change-notice', 'email-change-taken', 'account-deleted', 'recovery-code-used', 'mfa-reset'];

t.test('every page and mail renders in both languages, with no message key left in it', async (t) => {
  const en = await readLocale('en');
  const keys = Object.keys(en);
  const presentation = createPresentation({ templatesDir: null, defaultLocale: 'en' });
  t.same(presentation.locales, ['de', 'en']);
  const rawKeys = (text: string) => keys.filter((k) => text.includes(k));
  for (const locale of ['en', 'de']) {
    for (const [template, data] of Object.entries(PAGES)) {
      const html = presentation.page(locale, template, data);
      t.match(html, `<html lang="${locale}">`, `${template} (${locale}) says its language`);
      t.same(rawKeys(html), [], `${template} (${locale}) shows no message key`);
    }
    for (const name of MAILS) {
      const mail = presentation.mail(locale, name, { issuer: 'https://id.example.com', link: 'https://id.example.com/account/x?token=T', forgot: 'https://id.example.com/f', newEmail: 'new@example.com', left: '9' });
      t.same(rawKeys(`${mail.subject}\n${mail.text}\n${mail.html}`), [], `mail ${name} (${locale}) shows no message key`);
      t.notMatch(mail.text, /&amp;|&#/, `mail ${name} (${locale}): the text part is not HTML-escaped`);
    }
  }
  t.equal(presentation.page('de', 'login', PAGES.login!).includes('<h1>Anmelden</h1>'), true, 'German words');
  t.equal(presentation.mail('de', 'password-reset', { issuer: 'i', link: 'l' }).subject, 'Setzen Sie Ihr Passwort zurück');
});

t.test('TEMPLATES_DIR: overrides file by file, words merged key by key, English where a language lacks a key', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'pages'), { recursive: true });
  await mkdir(join(dir, 'locales'), { recursive: true });
  await writeFile(join(dir, 'pages', 'reset-sent.eta'), `<% layout('@pages/layout', { title: 'Sent' }) %><p class="custom">Sent to <%= it.email %> <%= it.t('custom.thanks') %></p>`);
  await writeFile(join(dir, 'locales', 'en.json'), JSON.stringify({ 'custom.thanks': 'Thanks!', 'forgot.submit': 'Mail me' }));
  await writeFile(join(dir, 'locales', 'fr.json'), JSON.stringify({ 'forgot.submit': 'Envoyez-moi un lien' }));
  const errors: string[] = [];
  const p = createPresentation({ templatesDir: dir, defaultLocale: 'en', onOverrideError: (name) => errors.push(name) });
  t.same(p.locales, ['de', 'en', 'fr'], 'an operator adds a language');
  t.match(p.page('en', 'reset-sent', { email: '"<script>' }), '<p class="custom">Sent to &#34;&#60;script&#62; Thanks!</p>', 'overridden, still escaped');
  t.match(p.page('en', 'forgot-password', {}), '>Mail me</button>', 'a word changed');
  t.match(p.page('fr', 'forgot-password', {}), '>Envoyez-moi un lien</button>');
  t.match(p.page('fr', 'forgot-password', {}), '<h1>Forgot your password?</h1>', 'a key the new language lacks: English');
  t.match(p.page('de', 'forgot-password', {}), '<h1>Passwort vergessen?</h1>', 'the built-in German stays');
  t.same(errors, []);

  await writeFile(join(dir, 'pages', 'signup.eta'), `<%= it.nothing.here %>`);
  const q = createPresentation({ templatesDir: dir, defaultLocale: 'en', onOverrideError: (name) => errors.push(name) });
  t.match(q.page('en', 'signup', PAGES.signup!), '<h1>Create an account</h1>', 'an override that throws: the built-in page');
  t.same(errors, ['pages/signup'], 'and the failure is reported');
});

t.test('a template that does not compile, an unknown file, a bad message file or an unknown DEFAULT_LOCALE are named', async (t) => {
  t.same(presentationProblems(null, 'en'), []);
  t.same(presentationProblems(null, 'fr'), [{ variable: 'DEFAULT_LOCALE', message: 'is "fr", which has no messages; available: de, en' }]);
  const broken = await tempDir(t);
  await mkdir(join(broken, 'pages'));
  await writeFile(join(broken, 'pages', 'login.eta'), '<% if (it.x) { %>');
  t.match(presentationProblems(broken, 'en'), [{ variable: 'TEMPLATES_DIR', message: /^pages\/login\.eta: does not compile/ }]);
  const unknown = await tempDir(t);
  await mkdir(join(unknown, 'pages'));
  await writeFile(join(unknown, 'pages', 'logn.eta'), 'typo');
  t.match(presentationProblems(unknown, 'en'), [{ variable: 'TEMPLATES_DIR', message: /^pages\/logn\.eta: is not one of the template files/ }]);
  const json = await tempDir(t);
  await mkdir(join(json, 'locales'));
  await writeFile(join(json, 'locales', 'de.json'), '{"a": ');
  t.match(presentationProblems(json, 'en'), [{ variable: 'TEMPLATES_DIR', message: /^locales\/de\.json: is not valid JSON/ }]);
});

t.test('every message key the templates and the routes name exists in en.json', async (t) => {
  const { readdir } = await import('node:fs/promises');
  const en = await readLocale('en');
  const prefixes = new Set(Object.keys(en).map((k) => k.split('.')[0]));
  const root = packageRoot();
  const files = async (dir: string, ext: string) =>
    (await readdir(join(root, dir), { recursive: true })).filter((f) => f.endsWith(ext)).map((f) => join(root, dir, f));
  const named: string[] = [];
  for (const file of await files('src/templates', '.eta')) {
    for (const m of (await readFile(file, 'utf8')).matchAll(/it\.th?\('([^'$]+)'\s*[,)]/g)) named.push(m[1]!);
  }
  for (const file of [...(await files('src/http', '.ts')), join(root, 'src/oidc/configuration.ts')]) {
    for (const m of (await readFile(file, 'utf8')).matchAll(/(?<!type: )'([a-z_]+(?:\.[a-z_-]+)+)'/g)) if (prefixes.has(m[1]!.split('.')[0])) named.push(m[1]!);
  }
  t.ok(named.length > 100, `found the keys (${named.length})`);
  t.same([...new Set(named.filter((k) => !(k in en)))], [], 'no key without a sentence');
});
