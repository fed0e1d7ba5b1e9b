import { once } from 'node:events';
import { connect } from 'node:net';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';

const REDIRECT = 'https://app.example.com/callback';

/** Every URL-valued member of a discovery document. */
const urls = (meta: Record<string, unknown>) => Object.entries(meta).filter(([, v]) => typeof v === 'string' && /^[a-z]+:\/\//.test(v)) as [string, string][];

/** One raw HTTP/1.0 request, exactly as written (Host missing or malformed). */
async function raw(port: number, request: string): Promise<{ status: number; body: string }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let data = '';
  socket.on('data', (chunk) => (data += chunk.toString('utf8')));
  // Written without half-closing: Node's HTTP server drops a request whose client has shut its
  // side before the (asynchronous) answer is ready. HTTP/1.0 without keep-alive: the server closes.
  socket.write(request);
  await once(socket, 'close');
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0), body: data.slice(data.indexOf('\r\n\r\n') + 4) };
}

t.test('every URL the engine produces comes from ISSUER, whatever Host or X-Forwarded-Host say', async (t) => {
  // TRUST_PROXY names the test itself: X-Forwarded-* from it would be believed if anything were.
  const gh = await buildTestApp(t, { listen: true, env: { TRUST_PROXY: '127.0.0.1' } });
  const port = Number(new URL(gh.issuer).port);
  await registerApi(gh.services, 'https://tv.example.com', 'watch');
  const web = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code'] });
  const tv = await registerClient(gh.services, { name: 'TV', grants: ['urn:ietf:params:oauth:grant-type:device_code'], public: true });

  const variants: Record<string, Record<string, string>> = {
    'Host: evil.example': { host: 'evil.example' },
    'X-Forwarded-Host: evil.example': { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    'Forwarded: host=evil.example': { forwarded: 'host=evil.example;proto=https' },
  };
  for (const [name, headers] of Object.entries(variants)) {
    const meta = (await gh.app.inject({ method: 'GET', url: '/.well-known/openid-configuration', headers }).then((r) => r.json())) as Record<string, unknown>;
    const bad = urls(meta).filter(([, v]) => !v.startsWith(`${gh.issuer}/`) && v !== gh.issuer);
    t.same(bad, [], `${name}: discovery advertises only ${gh.issuer} URLs`);
    t.ok(urls(meta).length >= 8, 'and it has them all');

    const device = await gh.app.inject({ method: 'POST', url: '/device/auth', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: `client_id=${tv.client_id}&scope=openid` });
    t.equal(device.statusCode, 200);
    t.match(device.json(), { verification_uri: `${gh.issuer}/device`, verification_uri_complete: new RegExp(`^${gh.issuer}/device\\?user_code=`) }, `${name}: device verification URIs`);

    const auth = await gh.app.inject({ method: 'GET', url: `/auth?client_id=${web.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`, headers });
    t.equal(auth.statusCode, 303);
    t.notMatch(String(auth.headers.location), /evil/, `${name}: the redirect to the login page`);

    const logout = await gh.app.inject({ method: 'GET', url: '/session/end', headers: { ...headers, accept: 'text/html' } });
    t.equal(logout.statusCode, 200);
    t.match(logout.body, new RegExp(`action="${gh.issuer}/session/end/confirm"`), `${name}: the logout form posts to the issuer`);
    t.notMatch(logout.body, /evil/, 'and names no other host');
  }

  const noHost = await raw(port, 'GET /.well-known/openid-configuration HTTP/1.0\r\n\r\n');
  t.equal(noHost.status, 200, 'HTTP/1.0 without Host');
  t.same(urls(JSON.parse(noHost.body) as Record<string, unknown>).filter(([, v]) => !v.startsWith(gh.issuer)), [], 'still the issuer’s URLs');

  for (const host of ['[', 'a b', 'evil.example:99999', '@', '%', '[::1']) {
    const res = await raw(port, `GET /session/end HTTP/1.0\r\nHost: ${host}\r\nAccept: text/html\r\n\r\n`);
    t.ok(res.status > 0 && res.status < 500, `a malformed Host (${JSON.stringify(host)}) on /session/end is not a 500 (${res.status})`);
  }
});
