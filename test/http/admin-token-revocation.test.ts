import * as jose from 'jose';
import t from 'tap';
import { createVerifier, VerifierError } from '../../src/verifier/index.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { waitUntil } from '../helpers/wait-until.ts';

/**
 * POST /admin/tokens/revoke {jti, reason?}: the admin API's `gatehouse tokens revoke`. The jti is
 * listed in the revocation feed and audited; a malformed one is a 400 and writes nothing.
 */

const API = 'https://orders.example.com';

t.test('an admin revokes one access token by jti: listed in the feed, refused by a verifier, audited; bad input is a 400', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, API, 'orders:read');
  const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [`${gh.issuer}/admin`], scope: 'gatehouse:admin' });
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API], scope: 'orders:read' });
  const adminToken = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!))).json.access_token);
  const apiToken = async () =>
    String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'orders:read', resource: API }, basic(job.client_id, job.client_secret!))).json.access_token);
  const revoked = await apiToken();
  const kept = await apiToken();
  const jti = jose.decodeJwt(revoked).jti!;

  const revoke = async (body: unknown, token = adminToken) => {
    const res = await fetch(`${gh.issuer}/admin/tokens/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  // Bad input first: nothing is written.
  for (const [what, body, description] of [
    ['a whole token', { jti: revoked }, /^jti: this looks like a whole token/],
    ['spaces and punctuation', { jti: 'not a jti!' }, /^jti: must be a token id/],
    ['too short', { jti: 'abc' }, /^jti: must be a token id/],
    ['empty', { jti: '' }, /^jti: must be a token id/],
    ['missing', { reason: 'x' }, /jti/],
    ['not a string', { jti: 42 }, /jti/],
    ['an unknown field', { jti, by: 'me' }, /by|additional/i],
  ] as const) {
    const r = await revoke(body);
    t.equal(r.status, 400, `${what} → 400`);
    t.match(r.json, { error: 'invalid_request', error_description: description }, what);
  }
  t.equal((await revoke({ jti }, revoked)).status, 401, 'a token without the admin audience and scope is refused');
  t.same(await gh.services.revocations.listSince(new Date(0)), [], 'nothing listed by a refused request');
  t.same(await gh.services.auditStore.query({ type: 'access_token.revoked', limit: 10 }), [], 'nor audited');

  const verifier = createVerifier({ issuer: gh.issuer, audience: API, revocation: { pollInterval: 200 } });
  t.teardown(() => verifier.close());
  await verifier.verify(revoked);

  const r = await revoke({ jti, reason: 'leaked in a log' });
  t.equal(r.status, 200);
  t.match(r.json, { jti, revoked: true, listed_until: /^\d{4}-\d\d-\d\dT/ });
  t.ok(Date.parse(String(r.json.listed_until)) >= jose.decodeJwt(revoked).exp! * 1000, 'listed at least until the token expires');

  const entries = await gh.services.revocations.listSince(new Date(0));
  t.match(entries, [{ kind: 'token', ref: jti }]);
  const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri!));
  let tokens: string[] = [];
  await waitUntil(
    async () => {
      const jws = await (await fetch(discovery.gatehouse_revocation_feed_uri!)).text();
      tokens = (await jose.jwtVerify(jws, jwks, { issuer: gh.issuer, typ: 'revocation-feed+jwt' })).payload.tokens as string[];
      return tokens.includes(jti);
    },
    'the feed lists the jti',
    30_000,
  );
  t.same(tokens, [jti]);

  const codeOf = (p: Promise<unknown>) => p.then(() => 'verified', (e: unknown) => (e instanceof VerifierError ? e.code : String(e)));
  await waitUntil(async () => (await codeOf(verifier.verify(revoked))) === 'ERR_TOKEN_REVOKED', 'the verifier refuses the token', 30_000);
  t.equal(await codeOf(verifier.verify(kept)), 'verified', 'another token of the same client still passes');

  const events = await gh.services.auditStore.query({ type: 'access_token.revoked', limit: 10 });
  t.equal(events.length, 1);
  t.match(events[0], { detail: { jti, reason: 'leaked in a log', by: `admin api (client ${ops.client_id})` } });
});
