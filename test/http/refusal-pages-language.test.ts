import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';

/**
 * A page that refuses a request (a malformed form, a form from another site, a link that is no
 * longer valid) speaks the visitor's language: in English the code's own precise sentence, in
 * another language the general sentence for that refusal (src/locales/*.json, `refusal.<code>`).
 */

const form = (language: string, extra: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': language, accept: 'text/html', ...extra },
  body: 'email=a',
});

t.test('refusal pages in English and German', async (t) => {
  const gh = await buildTestApp(t, { listen: true });

  const english = await fetch(`${gh.issuer}/interaction/abc/login`, form('en'));
  t.equal(english.status, 400);
  const en = await english.text();
  t.match(en, /<html lang="en"/);
  t.match(en, /missing the field/, 'English: the precise sentence');

  const german = await fetch(`${gh.issuer}/interaction/abc/login`, form('de-DE,de;q=0.9'));
  t.equal(german.status, 400);
  const de = await german.text();
  t.match(de, /<html lang="de"/);
  t.match(de, /Anfrage abgelehnt/, 'German title');
  t.match(de, /Die Anfrage war ungültig/, 'German: the general sentence for invalid_request');
  t.notMatch(de, /missing the field|The request/, 'no English sentence left');

  const crossSite = await fetch(`${gh.issuer}/interaction/abc/login`, form('de', { 'sec-fetch-site': 'cross-site' }));
  t.equal(crossSite.status, 403);
  const cs = await crossSite.text();
  t.match(cs, /Diese Anfrage ist von hier aus nicht erlaubt/);
  t.notMatch(cs, /This form was not sent/);
});
