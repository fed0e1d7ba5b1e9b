import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic, postForm } from '../helpers/tokens.ts';

t.test('discovery advertises exactly what Gatehouse allows', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const meta = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.equal(meta.issuer, gh.issuer);
  t.same(meta.response_types_supported, ['code'], 'no implicit, no hybrid');
  t.same(meta.code_challenge_methods_supported, ['S256'], 'no plain');
  t.same(
    [...(meta.grant_types_supported as string[])].sort(),
    ['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    'no password grant',
  );
  t.same([...(meta.token_endpoint_auth_methods_supported as string[])].sort(), ['client_secret_basic', 'client_secret_post', 'none']);
  t.equal(meta.authorization_response_iss_parameter_supported, true, 'RFC 9207');
  t.same(meta.dpop_signing_alg_values_supported, ['ES256', 'Ed25519', 'EdDSA'], 'DPoP (RFC 9449), asymmetric proofs only');
  t.equal(meta.gatehouse_revocation_feed_uri, `${meta.issuer as string}/revocation-feed`, 'the revocation feed');
  t.notOk('registration_endpoint' in meta, 'no dynamic registration');
  for (const endpoint of ['introspection_endpoint', 'revocation_endpoint', 'device_authorization_endpoint', 'pushed_authorization_request_endpoint', 'end_session_endpoint', 'userinfo_endpoint']) {
    t.type(meta[endpoint], 'string', endpoint);
  }
  t.notOk(JSON.stringify(meta).includes('HS256'), 'no symmetric algorithms anywhere');

  const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as { keys: Record<string, unknown>[] };
  t.same(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  for (const k of jwks.keys) for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.notOk(privateMember in k, `no ${privateMember} in the JWKS`);
  const rsa = jwks.keys.find((k) => k.kty === 'RSA')!;
  t.ok(Buffer.from(String(rsa.n), 'base64url').length * 8 >= 3072, 'RSA 3072');
});

t.test('the metadata answered again without the engine is the engine\'s answer, headers and all', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${gh.issuer}${path}`, i === 2 ? { headers: { origin: 'https://app.example.com' } } : {});
      const headers = Object.fromEntries([...r.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'));
      answers.push({ status: r.status, id: r.headers.get('x-request-id'), headers, body: await r.text() });
    }
    t.same(answers.map((a) => a.status), [200, 200, 200], path);
    t.same(answers[1]!.headers, answers[0]!.headers, `${path}: the same headers`);
    t.same(answers[2]!.headers, answers[0]!.headers, `${path}: for a browser's cross-origin request too`);
    t.equal(new Set(answers.map((a) => a.body)).size, 1, `${path}: the same document`);
    t.equal(new Set(answers.map((a) => a.id)).size, 3, `${path}: each answer its own request id`);
    t.equal(JSON.parse(answers[0]!.body).issuer, gh.issuer);
    const head = await fetch(`${gh.issuer}${path}`, { method: 'HEAD' });
    t.equal(head.status, 200, `${path}: HEAD`);
  }
});

t.test('pages deny framing, caching and referrers; the authorization endpoint has no CORS', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const page = await fetch(`${gh.issuer}/interaction/does-not-exist`);
  t.equal(page.status, 400);
  t.match(page.headers.get('content-type'), /text\/html/);
  t.match(await page.text(), /expired or was already completed/);
  t.equal(page.headers.get('cache-control'), 'no-store');
  t.equal(page.headers.get('x-frame-options'), 'DENY');
  t.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  t.match(page.headers.get('content-security-policy'), /form-action 'self';/, 'forms post to our own origin only');
  t.equal(page.headers.get('referrer-policy'), 'no-referrer');

  const errorPage = await fetch(`${gh.issuer}/auth?client_id=nope`, { headers: { accept: 'text/html' } });
  t.equal(errorPage.status, 400);
  t.equal(errorPage.headers.get('x-frame-options'), 'DENY');
  t.match(errorPage.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  t.match(errorPage.headers.get('content-security-policy'), /form-action 'self';/);
  t.equal(errorPage.headers.get('cache-control'), 'no-store');
  t.notMatch(await errorPage.text(), /<script/);

  const preflight = await fetch(`${gh.issuer}/auth`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' } });
  t.equal(preflight.headers.get('access-control-allow-origin'), null, 'no CORS on the authorization endpoint');

  const badForm = await fetch(`${gh.issuer}/interaction/abc/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=a' });
  t.equal(badForm.status, 400, 'a malformed form post gets a readable 400 page');
  t.match(badForm.headers.get('content-type'), /text\/html/);
  t.match(await badForm.text(), /missing the field/);
});

t.test('/metrics counts tokens by grant', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, 'https://api.example.com', 'read');
  const c = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: ['https://api.example.com'] });
  t.equal((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(c.client_id, c.client_secret!))).status, 200);
  t.equal((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(c.client_id, 'wrong'))).status, 401);
  const text = await (await fetch(`${gh.issuer}/metrics`)).text();
  t.match(text, /gatehouse_tokens_issued_total\{grant="client_credentials"\} 1/);
  t.match(text, /gatehouse_http_requests_total\{method="POST",route="\/token",status="200"\} 1/);
  t.match(text, /^gatehouse_process_cpu_user_seconds_total \d/m, 'Node\'s process metrics, named once');
  t.notMatch(text, /gatehouse_process_process_/);
  t.match(text, /^gatehouse_nodejs_eventloop_lag_seconds /m);
});
