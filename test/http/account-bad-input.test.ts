import t from 'tap';
import { buildTestApp, type TestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { readOutbox } from '../helpers/outbox.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';

/**
 * Bad input on every form and JSON endpoint of accounts and sign-in: missing fields, wrong types,
 * 1 MB bodies, invalid UTF-8, lone surrogates, line breaks in emails (mail header injection),
 * forms from other sites. Each answers a 4xx with a sentence, and nothing is written.
 */
const REDIRECT = 'https://app.example.com/callback';
const MB = 1024 * 1024;

type Case = { name: string; body: string | Buffer; type?: string; status: number; says?: RegExp; headers?: Record<string, string> };

const J = 'application/json';
const F = 'application/x-www-form-urlencoded';
const jsonCase = (name: string, body: unknown, status: number, says?: RegExp): Case => ({ name, body: typeof body === 'string' ? body : JSON.stringify(body), type: J, status, says });
const formCase = (name: string, body: string | Buffer, status: number, says?: RegExp, headers?: Record<string, string>): Case => ({ name, body, type: F, status, says, headers });

async function snapshot(gh: TestApp) {
  const p = gh.db.prisma;
  await gh.services.background.idle();
  return {
    users: await p.user.findMany({ orderBy: { id: 'asc' } }),
    tokens: await p.oneTimeToken.count(),
    audit: (await p.auditEvent.findMany()).filter((e) => e.type !== 'login.failed').length,
    outbox: (await readOutbox(gh.config.dataDir)).length,
  };
}

/** A live interaction (login prompt) and the cookies that go with it. */
async function interaction(gh: TestApp) {
  const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code'] });
  const start = await startAuthorization(await relyingParty(gh, client), { redirect_uri: REDIRECT });
  const res = await gh.app.inject({ method: 'GET', url: start.url.pathname + start.url.search });
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(String(res.headers.location))![1]!;
  const setCookies = [res.headers['set-cookie'] ?? []].flat();
  const cookie = setCookies.map((c) => c.split(';')[0]).join('; ');
  const page = await gh.app.inject({ method: 'GET', url: `/interaction/${uid}`, headers: { cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return { uid, cookie, csrf };
}

t.test('every JSON endpoint refuses bad input with a 4xx and a sentence, writing nothing', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await createVerifiedUser(gh.services, 'owner@example.com', PASSWORD);
  const before = await snapshot(gh);
  const big = JSON.stringify({ email: `${'a'.repeat(MB)}@example.com`, password: 'x', token: 'y' });
  const good = { email: 'new@example.com', password: 'a sound long passphrase', token: 'A'.repeat(43) };
  const endpoints: Record<string, (keyof typeof good)[]> = {
    '/account/signup': ['email', 'password'],
    '/account/verify-email': ['token'],
    '/account/password/forgot': ['email'],
    '/account/password/reset': ['token', 'password'],
  };
  for (const [url, fields] of Object.entries(endpoints)) {
    const valid = Object.fromEntries(fields.map((f) => [f, good[f]]));
    const cases: Case[] = [
      jsonCase('empty object', {}, 400, /missing the field/),
      jsonCase('array body', [], 400, /must be object/),
      jsonCase('string body', '"hello"', 400, /must be object/),
      jsonCase('null body', 'null', 400),
      jsonCase('malformed JSON', '{"email":', 400, /not valid JSON/),
      jsonCase('empty body', '', 400, /empty/),
      jsonCase('unexpected field', { ...valid, admin: true }, 400, /unexpected field "admin"/),
      ...fields.flatMap((f) => [
        jsonCase(`${f} missing`, { ...valid, [f]: undefined }, 400, new RegExp(`missing the field "${f}"`)),
        jsonCase(`${f} a number`, { ...valid, [f]: 12345678901 }, 400, new RegExp(`"${f}" must be string`)),
        jsonCase(`${f} an array`, { ...valid, [f]: [valid[f]] }, 400, new RegExp(`"${f}" must be string`)),
        jsonCase(`${f} null`, { ...valid, [f]: null }, 400, new RegExp(`"${f}" must be string`)),
        jsonCase(`${f} an object`, { ...valid, [f]: {} }, 400, new RegExp(`"${f}" must be string`)),
      ]),
      { name: '1 MB body', body: big, type: J, status: 413, says: /too large/ },
      { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xff, 0xfe]), Buffer.from('@example.com","password":"x","token":"y"}')]), type: J, status: 400, says: /not valid UTF-8/ },
      jsonCase('a lone surrogate', '{"email":"\\ud800@example.com","password":"a sound long passphrase","token":"t"}', 400, /invalid Unicode/),
      { name: 'text/plain', body: JSON.stringify(valid), type: 'text/plain', status: 415 },
      { name: 'no content type', body: JSON.stringify(valid), status: 415 },
    ];
    if (fields.includes('email')) {
      cases.push(
        jsonCase('CRLF header injection in the email', { ...valid, email: 'victim@example.com\r\nBcc: everyone@example.com' }, 400, /email: is not a valid email address/),
        jsonCase('LF in the email', { ...valid, email: 'owner@example.com\nSubject: hi' }, 400, /not a valid email/),
        jsonCase('a display name', { ...valid, email: 'Owner <owner@example.com>' }, 400, /not a valid email/),
        jsonCase('two addresses', { ...valid, email: 'owner@example.com,other@example.com' }, 400, /not a valid email/),
        jsonCase('a NUL byte', { ...valid, email: 'owner@example.com\u0000' }, 400, /contains a NUL character/),
        jsonCase('too long', { ...valid, email: `${'a'.repeat(400)}@example.com` }, 400, /must NOT have more than 320 characters/),
      );
    }
    for (const c of cases) {
      const headers: Record<string, string> = { ...(c.type ? { 'content-type': c.type } : {}) };
      // Real HTTP for the big body (inject would not show how the socket is treated).
      const res = c.name === '1 MB body'
        ? await fetch(`${gh.issuer}${url}`, { method: 'POST', headers, body: c.body as string }).then(async (r) => ({ statusCode: r.status, body: await r.text() }))
        : await gh.app.inject({ method: 'POST', url, headers, payload: c.body });
      t.equal(res.statusCode, c.status, `${url} ${c.name} → ${c.status}`);
      let body: { error?: unknown; error_description?: unknown } = {};
      try {
        body = JSON.parse(res.body);
      } catch {
        t.fail(`${url} ${c.name}: not JSON: ${res.body.slice(0, 100)}`);
      }
      t.type(body.error, 'string');
      t.type(body.error_description, 'string');
      if (c.says) t.match(body.error_description, c.says, `${url} ${c.name}: says why`);
      t.notMatch(res.body, /at .*\.ts:\d+|stack/i, 'no stack trace');
    }
  }
  t.same(await snapshot(gh), before, 'nothing written: users, tokens, audit, outbox unchanged');
});

t.test('every form refuses bad input with a 4xx page, writing nothing', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await createVerifiedUser(gh.services, 'owner@example.com', PASSWORD);
  const { uid, cookie, csrf } = await interaction(gh);
  const before = await snapshot(gh);
  const enc = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const forms: Record<string, Record<string, string>> = {
    [`/interaction/${uid}/login`]: { csrf, email: 'owner@example.com', password: 'wrong password here' },
    [`/interaction/${uid}/signup`]: { csrf, email: 'new@example.com', password: 'a sound long passphrase' },
    [`/interaction/${uid}/resend`]: { csrf, ticket: 'v1.a.b.c' },
    [`/interaction/${uid}/confirm`]: { csrf },
    [`/interaction/${uid}/abort`]: { csrf },
    '/account/verify-email': { token: 'A'.repeat(43), csrf: 'x' },
    '/account/password/forgot': { email: 'owner@example.com' },
    '/account/password/reset': { token: 'A'.repeat(43), password: 'a sound long passphrase', csrf: 'x' },
  };
  for (const [url, valid] of Object.entries(forms)) {
    const [first] = Object.keys(valid);
    const cases: Case[] = [
      formCase('empty body', '', 400, /missing the field/),
      formCase(`${first} missing`, enc(Object.fromEntries(Object.entries(valid).filter(([k]) => k !== first))), 400, /missing the field/),
      formCase(`${first} twice`, `${enc(valid)}&${enc({ [first!]: 'again' })}`, 400, /must be string/),
      formCase('unexpected field', `${enc(valid)}&admin=1`, 400, /unexpected field/),
      formCase('1 MB body', `${enc(valid)}&pad=${'a'.repeat(MB)}`, 413, /too large/),
      formCase('invalid UTF-8 bytes', Buffer.concat([Buffer.from(`${enc(valid)}&note=`), Buffer.from([0xc3, 0x28])]), 400, /not valid UTF-8/),
      formCase('an escape that is not UTF-8', `${enc(valid)}&note=%FF`, 400, /malformed/),
      formCase('a broken escape', `${enc(valid)}&note=%ZZ`, 400, /malformed/),
      formCase('from another site', enc(valid), 403, /not sent from this site/, { 'sec-fetch-site': 'cross-site' }),
      { name: 'as JSON instead', body: JSON.stringify({ ...valid, extra: [1] }), type: J, status: 400 },
    ];
    for (const c of cases) {
      const headers = { 'content-type': c.type!, cookie, ...c.headers };
      const res = c.name === '1 MB body'
        ? await fetch(`${gh.issuer}${url}`, { method: 'POST', headers, body: c.body as string }).then(async (r) => ({ statusCode: r.status, body: await r.text(), type: r.headers.get('content-type') }))
        : await gh.app.inject({ method: 'POST', url, headers, payload: c.body }).then((r) => ({ statusCode: r.statusCode, body: r.body, type: r.headers['content-type'] }));
      t.equal(res.statusCode, c.status, `${url} ${c.name} → ${c.status}`);
      if (c.type === F) {
        t.match(res.type, /text\/html/, `${url} ${c.name}: a page for a form`);
        if (c.says) t.match(res.body, c.says, `${url} ${c.name}: says why`);
      }
      t.notMatch(res.body, /at .*\.ts:\d+/, 'no stack trace');
    }
  }

  // Line breaks in an email typed into a form: signup refuses it with a sentence, login fails like
  // any wrong email (one generic message); no mail is composed either way.
  const injected = 'victim@example.com\r\nBcc: everyone@example.com';
  const signup = await gh.app.inject({ method: 'POST', url: `/interaction/${uid}/signup`, headers: { 'content-type': F, cookie }, payload: enc({ csrf, email: injected, password: 'a sound long passphrase' }) });
  t.equal(signup.statusCode, 400);
  t.match(signup.body, /Enter a valid email address/);
  const login = await gh.app.inject({ method: 'POST', url: `/interaction/${uid}/login`, headers: { 'content-type': F, cookie }, payload: enc({ csrf, email: injected, password: 'whatever it is' }) });
  t.equal(login.statusCode, 401);
  t.match(login.body, /The email or password is not correct\./);
  const forgot = await gh.app.inject({ method: 'POST', url: '/account/password/forgot', headers: { 'content-type': F }, payload: enc({ email: injected }) });
  t.equal(forgot.statusCode, 400);
  t.match(forgot.body, /Enter a valid email address/);

  t.same(await snapshot(gh), before, 'nothing written: users, tokens, audit (besides failed logins), outbox unchanged');
});

t.test('query strings of the link pages: repeated or odd tokens show a page, never a 500', async (t) => {
  const gh = await buildTestApp(t);
  for (const url of ['/account/verify-email', '/account/password/reset']) {
    for (const query of ['?token=a&token=b', '?token=%FF%FE', `?token=${'x'.repeat(500)}`, '?token=', '?token=../../etc/passwd']) {
      const res = await gh.app.inject({ method: 'GET', url: url + query });
      t.equal(res.statusCode, 400, `${url}${query.slice(0, 30)}`);
      t.match(res.headers['content-type'], /text\/html/);
    }
  }
});
