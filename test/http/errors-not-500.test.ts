import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';
import { basic } from '../helpers/tokens.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

const REDIRECT = 'https://app.example.com/callback';

for (const kind of ['sqlite', 'postgres'] as const) {
  t.test(`a NUL byte in the login email is a failed login with its audit row (${kind})`, async (t) => {
    const gh = await buildTestApp(t, { listen: true, kind });
    const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code'] });
    await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
    const config = await relyingParty(gh, client);
    const ua = new UserAgent();
    const start = await startAuthorization(config, { redirect_uri: REDIRECT });
    const login = await ua.follow(start.url.href, REDIRECT);
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
    const res = await ua.request(`${gh.issuer}/interaction/${uid}/login`, {
      form: { csrf: hiddenField(login.body, 'csrf'), email: 'alice\u0000@example.com', password: PASSWORD },
    });
    t.equal(res.status, 401, 'the one generic failure, not a 500');
    t.match(res.body, /The email or password is not correct\./);
    const [event] = await gh.services.auditStore.query({ type: 'login.failed', limit: 10 });
    t.ok(event, 'the audit row was written');
    t.equal(event?.email, 'alice\uFFFD@example.com', 'under what was typed, the NUL made visible');
    t.match(event?.detail, { reason: 'invalid_credentials' });
    t.equal((await ua.request(`${gh.issuer}/interaction/${uid}/login`, { form: { csrf: hiddenField(login.body, 'csrf'), email: 'alice@example.com', password: PASSWORD } })).status, 303, 'the real login still works');
  });
}

t.test('JSON nested 20,000 deep is a 400, not a stack overflow', async (t) => {
  const gh = await buildTestApp(t);
  const deep = (open: string, close: string) => `${open.repeat(20_000)}${close.repeat(20_000)}`;
  const bodies = {
    arrays: deep('[', ']'),
    // as deep as fits in the 64 KB body limit
    'objects 12,000 deep': `${'{"":'.repeat(12_000)}1${'}'.repeat(12_000)}`,
    'inside a field': `{"email":"a@example.com","password":${deep('[', ']')}}`,
    'with a prototype key': `{"constructor":${deep('[', ']')}}`,
  };
  for (const [name, payload] of Object.entries(bodies)) {
    for (const url of ['/account/signup', '/account/password/forgot']) {
      const res = await gh.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });
      t.equal(res.statusCode, 400, `${name} at ${url}`);
      t.match(res.json(), { error: 'invalid_request', error_description: /nested too deeply|malformed/ }, name);
    }
  }
  const shallow = await gh.app.inject({ method: 'POST', url: '/account/password/forgot', headers: { 'content-type': 'application/json' }, payload: { email: 'a@example.com' } });
  t.equal(shallow.statusCode, 202, 'an ordinary body is still fine');
});

for (const kind of ['sqlite', 'postgres'] as const) {
  t.test(`a NUL in a JSON body, a query string or a path is a 400, not a database error (${kind})`, async (t) => {
    const gh = await buildTestApp(t, { kind });
    const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [`${gh.issuer}/admin`], scope: 'gatehouse:admin' });
    await createVerifiedUser(gh.services, 'victim@example.com', PASSWORD);
    const issued = await gh.app.inject({
      method: 'POST',
      url: '/token',
      headers: { authorization: basic(ops.client_id, ops.client_secret!), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials&scope=gatehouse:admin',
    });
    const authorization = `Bearer ${String(issued.json().access_token)}`;
    const cases = [
      { method: 'POST', url: '/admin/users/victim%40example.com/ban', payload: { reason: 'chargeback\u0000s' }, what: /request body contains a NUL/ },
      { method: 'POST', url: '/admin/ips/ban', payload: { ip: '203.0.113.1', reason: 'scan\u0000ner' }, what: /request body contains a NUL/ },
      { method: 'GET', url: '/admin/audit?user=victim%00%40example.com', what: /query string contains a NUL/ },
      { method: 'GET', url: '/admin/clients/abc%00def', what: /URL path contains a NUL/ },
      { method: 'POST', url: '/account/password/forgot', payload: { email: 'victim\u0000@example.com' }, what: /request body contains a NUL/ },
    ] as const;
    for (const c of cases) {
      const res = await gh.app.inject({
        method: c.method,
        url: c.url,
        headers: { authorization, ...('payload' in c ? { 'content-type': 'application/json' } : {}) },
        ...('payload' in c ? { payload: JSON.stringify(c.payload) } : {}),
      });
      t.equal(res.statusCode, 400, `${c.method} ${c.url}`);
      t.match(res.json(), { error: 'invalid_request', error_description: c.what });
    }
    t.equal((await gh.services.users.findByEmail('victim@example.com'))!.status, 'active', 'nothing was written');
    const ban = await gh.app.inject({ method: 'POST', url: '/admin/users/victim%40example.com/ban', headers: { authorization, 'content-type': 'application/json' }, payload: { reason: 'chargebacks' } });
    t.equal(ban.statusCode, 200, 'an ordinary ban still works');
  });
}

for (const kind of ['sqlite', 'postgres'] as const) {
  t.test(`a NUL in what the protocol engine looks up is an ordinary miss, not a database error (${kind})`, async (t) => {
    const gh = await buildTestApp(t, { kind });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const post = await gh.app.inject({ method: 'POST', url: '/token', headers: form, payload: 'grant_type=client_credentials&client_id=a%00b&client_secret=x' });
    t.equal(post.statusCode, 401, 'client_secret_post with a NUL in client_id');
    t.match(post.json(), { error: 'invalid_client' });
    const auth = await gh.app.inject({ method: 'GET', url: '/auth?client_id=a%00b&response_type=code&scope=openid' });
    t.equal(auth.statusCode, 400, 'an authorization request for such a client');
    t.match(auth.body, /Error code: invalid_client/, 'the error page names the unknown client');
  });
}

t.test('the device code form posted without a live session starts again instead of a 500', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  for (const [name, headers] of [
    ['no session cookie', form],
    ['a session cookie the server does not know', { ...form, cookie: 'gatehouse_session=unknown-session-id' }],
  ] as const) {
    const res = await fetch(`${gh.issuer}/device`, { method: 'POST', headers, body: 'xsrf=forged&user_code=BCDF-GHJK', redirect: 'manual' });
    t.equal(res.status, 303, name);
    t.equal(res.headers.get('location'), `${gh.issuer}/device`, 'back to the code page');
  }
  const ua = new UserAgent();
  const input = await ua.follow(`${gh.issuer}/device`);
  t.equal(input.status, 200);
  const retry = await ua.follow(`${gh.issuer}/device`, undefined, { form: { xsrf: hiddenField(input.body, 'xsrf'), user_code: 'BCDF-GHJK' } });
  t.equal(retry.status, 200, 'with the session from that page, an unknown code is the ordinary page again');
  t.match(retry.body, /That code is not valid or has expired/);
});
