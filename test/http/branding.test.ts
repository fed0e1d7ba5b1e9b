import t from 'tap';
import { loadConfig } from '../../src/config/load-config.ts';
import { ConfigError } from '../../src/errors.ts';
import { buildTestApp } from '../helpers/build-app.ts';

/** Branding from configuration: product name, logo, accent colour and support link on every page. */
const BRAND = {
  PRODUCT_NAME: 'Acme <ID>',
  LOGO_URL: 'https://cdn.acme.example/logo.svg',
  ACCENT_COLOR: '#FFD400',
  SUPPORT_URL: 'mailto:help@acme.example',
};

t.test('our pages and the engine’s carry the brand; the logo may load; the accent is in the stylesheet', async (t) => {
  const gh = await buildTestApp(t, { env: BRAND });
  const pages = [
    await gh.app.inject({ url: '/account/password/forgot' }),
    await gh.app.inject({ url: '/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://x.example/cb' }),
    await gh.app.inject({ url: '/device' }),
  ];
  for (const page of pages) {
    t.match(page.body, /<title>[^<]* · Acme &#60;ID&#62;<\/title>/, 'the name, escaped');
    t.match(page.body, '<img class="logo" src="https://cdn.acme.example/logo.svg" alt="Acme &#60;ID&#62;">', 'the logo, with the name as its text');
    t.match(page.body, '<a href="mailto:help@acme.example">Contact Acme &#60;ID&#62; support</a>');
    t.match(String(page.headers['content-security-policy']), "img-src 'self' https://cdn.acme.example;", 'the logo may load, nothing else');
  }
  const css = await gh.app.inject({ url: '/assets/gatehouse.css' });
  t.match(css.body, '@media (prefers-color-scheme: light) { :root { --accent: #ffd400; --on-accent: #000; } }', 'a yellow accent gets black text');
});

t.test('without branding: Gatehouse, no logo, no support link, the default stylesheet', async (t) => {
  const gh = await buildTestApp(t);
  const page = await gh.app.inject({ url: '/account/password/forgot' });
  t.match(page.body, /<title>Forgot your password\? · Gatehouse<\/title>/);
  t.notMatch(page.body, /<img|<footer|gatehouse:/, 'no logo, no footer, no slot left');
  t.notMatch((await gh.app.inject({ url: '/assets/gatehouse.css' })).body, /prefers-color-scheme: light/);
});

t.test('bad branding values stop the start, each named', async (t) => {
  try {
    loadConfig({ LOGO_URL: 'javascript:alert(1)', ACCENT_COLOR: 'red', SUPPORT_URL: 'ftp://x', PRODUCT_NAME: ' ' }, '/tmp');
    t.fail('accepted');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    t.same((err as ConfigError).issues.map((i) => i.variable).sort(), ['ACCENT_COLOR', 'LOGO_URL', 'PRODUCT_NAME', 'SUPPORT_URL']);
  }
});
