import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic } from '../helpers/tokens.ts';

/** Every kind of garbage at the protocol endpoints gets a 4xx with an OAuth error, never a 500. */
t.test('bad input at the token, introspection, revocation and userinfo endpoints', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, 'https://api.example.com', 'read');
  const client = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: ['https://api.example.com'] });
  const auth = basic(client.client_id, client.client_secret!);
  const form = 'application/x-www-form-urlencoded';

  const cases: { name: string; path: string; body?: string | Buffer; type?: string; auth?: string; method?: string }[] = [
    { name: 'no body', path: '/token', auth },
    { name: 'garbage form', path: '/token', body: '%%%&&&===', type: form, auth },
    { name: 'invalid percent-encoding', path: '/token', body: 'grant_type=%E0%A4%A', type: form, auth },
    { name: 'invalid UTF-8 bytes', path: '/token', body: Buffer.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x3d, 0xff, 0xfe]), type: form, auth },
    { name: 'JSON instead of a form', path: '/token', body: '{"grant_type":"client_credentials"}', type: 'application/json', auth },
    { name: 'text/plain', path: '/token', body: 'grant_type=client_credentials', type: 'text/plain', auth },
    { name: 'missing grant_type', path: '/token', body: 'scope=read', type: form, auth },
    { name: 'unknown grant_type', path: '/token', body: 'grant_type=urn:x:nope', type: form, auth },
    { name: 'duplicate grant_type', path: '/token', body: 'grant_type=client_credentials&grant_type=client_credentials', type: form, auth },
    { name: 'a 100 KB parameter', path: '/token', body: `grant_type=client_credentials&scope=${'a'.repeat(100_000)}`, type: form, auth },
    { name: 'a 1 MB body', path: '/token', body: `grant_type=client_credentials&x=${'a'.repeat(1_000_000)}`, type: form, auth },
    { name: 'unknown client', path: '/token', body: 'grant_type=client_credentials', type: form, auth: basic('nope', 'nope') },
    { name: 'malformed Basic header', path: '/token', body: 'grant_type=client_credentials', type: form, auth: 'Basic !!!not-base64' },
    { name: 'Bearer instead of Basic', path: '/token', body: 'grant_type=client_credentials', type: form, auth: 'Bearer abc' },
    { name: 'introspection without token', path: '/token/introspection', body: 'token_type_hint=access_token', type: form, auth },
    { name: 'introspection garbage', path: '/token/introspection', body: '\u0000\u0001', type: form, auth },
    { name: 'revocation without token', path: '/token/revocation', body: '', type: form, auth },
    { name: 'userinfo with a made-up token', path: '/me', method: 'GET', auth: 'Bearer made-up' },
    { name: 'userinfo with a token in the query', path: '/me?access_token=abc', method: 'GET' },
  ];

  for (const c of cases) {
    const res = await fetch(`${gh.issuer}${c.path}`, {
      method: c.method ?? 'POST',
      headers: { ...(c.type ? { 'content-type': c.type } : {}), ...(c.auth ? { authorization: c.auth } : {}) },
      ...(c.body !== undefined && (c.method ?? 'POST') !== 'GET' ? { body: c.body } : {}),
    });
    const text = await res.text();
    t.ok(res.status >= 400 && res.status < 500, `${c.name}: ${res.status}`);
    let body: { error?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // checked below
    }
    t.type(body.error, 'string', `${c.name}: an OAuth error code (${text.slice(0, 80)})`);
    t.notMatch(text, /at .*\.(js|ts):\d+/, `${c.name}: no stack trace`);
  }
  t.notOk(gh.logs.some((l) => l.msg === 'protocol engine error'), 'nothing reached the engine as an unexpected error');
});

t.test('a huge authorization request line is refused before it reaches the engine', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const res = await fetch(`${gh.issuer}/auth?client_id=x&scope=${'a'.repeat(20_000)}`);
  t.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
});
