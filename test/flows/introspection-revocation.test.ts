import * as jose from 'jose';
import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { systemClock } from '../../src/lib/clock.ts';

const REDIRECT = 'https://app.example.com/callback';
const API = 'https://orders.example.com';

async function setup(t: Test) {
  // Wall time: the in-process server's oidc-provider and its keyring (seeded a day back) measure real time.
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock });
  await registerApi(gh.services, API, 'orders:read');
  const web = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'], resources: [API] });
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  // A resource server that introspects: a confidential client of its own, the API's introspector.
  const rs = await registerClient(gh.services, { name: 'orders api', grants: ['client_credentials'], resources: [API], introspects: [API] });
  const user = await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
  const config = await relyingParty(gh, web);
  const webAuth = basic(web.client_id, web.client_secret!);
  const introspect = (token: string, auth = basic(rs.client_id, rs.client_secret!)) => postForm(`${gh.issuer}/token/introspection`, { token }, auth);
  const userTokens = async (params: Record<string, string> = {}) => {
    const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent', ...params });
    const step = await signIn(new UserAgent(), start.url, REDIRECT, 'alice@example.com', PASSWORD);
    const res = await postForm(
      `${gh.issuer}/token`,
      { grant_type: 'authorization_code', code: new URL(step.location!).searchParams.get('code')!, code_verifier: start.verifier, redirect_uri: REDIRECT, ...params },
      webAuth,
    );
    t.equal(res.status, 200);
    return res.json as { access_token: string; refresh_token: string; id_token: string };
  };
  const ccToken = async () =>
    (await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'orders:read' }, basic(job.client_id, job.client_secret!))).json.access_token as string;
  return { gh, clock, web, job, user, webAuth, introspect, userTokens, ccToken };
}

t.test('introspection of opaque tokens (RFC 7662), by the client they were issued to', async (t) => {
  const { introspect, userTokens, user, web, webAuth } = await setup(t);
  const tokens = await userTokens();
  const at = await introspect(tokens.access_token, webAuth);
  t.equal(at.status, 200);
  t.equal(at.headers.get('cache-control'), 'no-store');
  t.match(at.json, { active: true, sub: user.id, client_id: web.client_id, token_type: 'Bearer' });
  const rt = await introspect(tokens.refresh_token, webAuth);
  t.match(rt.json, { active: true, sub: user.id, client_id: web.client_id });
});

t.test('introspection of JWT access tokens answers from the claims and the grant', async (t) => {
  const { gh, clock, introspect, userTokens, ccToken, job, user, webAuth } = await setup(t);
  const cc = await ccToken();
  const ccInfo = await introspect(cc);
  t.equal(ccInfo.status, 200);
  t.match(ccInfo.json, { active: true, client_id: job.client_id, sub: job.client_id, aud: API, scope: 'orders:read', iss: gh.issuer, token_type: 'Bearer' });

  const tokens = await userTokens({ resource: API, scope: 'openid email offline_access orders:read' });
  t.equal(jose.decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
  t.match((await introspect(tokens.access_token)).json, { active: true, sub: user.id, aud: API });
  t.notOk('gh_grant' in (await introspect(tokens.access_token)).json, 'the grant reference stays internal');

  // Revoking the refresh token revokes the grant (RFC 7009): the JWT is now inactive too.
  const revoked = await postForm(`${gh.issuer}/token/revocation`, { token: tokens.refresh_token, token_type_hint: 'refresh_token' }, webAuth);
  t.equal(revoked.status, 200);
  t.same((await introspect(tokens.access_token)).json, { active: false });
  t.same((await introspect(tokens.refresh_token)).json, { active: false });

  // Expired: the engine's own clock is not moved; ours is (the JWT check uses it). The engine stamped
  // the token with its own time, so step ours past the token's exp, not past "start + TTL".
  const exp = jose.decodeJwt(cc).exp!;
  clock.advance(exp - Math.floor(clock.now().getTime() / 1000) + 1);
  t.same((await introspect(cc)).json, { active: false }, 'expired');
});

t.test('unknown, malformed and forged tokens are simply inactive; a caller without credentials gets 401', async (t) => {
  const { gh, introspect, ccToken } = await setup(t);
  const cc = await ccToken();
  const [h, p] = cc.split('.');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...jose.decodeJwt(cc), scope: 'orders:write' })).toString('base64url')}.${cc.split('.')[2]}`;
  const foreignKey = await jose.generateKeyPair('ES256');
  const foreign = await new jose.SignJWT(jose.decodeJwt(cc)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jose.decodeProtectedHeader(cc).kid }).sign(foreignKey.privateKey);
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
  for (const token of ['garbage', 'a.b.c', 'x'.repeat(5000), tampered, foreign, none, `${h}.${p}`]) {
    const r = await introspect(token);
    t.equal(r.status, 200, `${token.slice(0, 20)}… → 200`);
    t.same(r.json, { active: false });
  }
  const anonymous = await postForm(`${gh.issuer}/token/introspection`, { token: cc });
  t.equal(anonymous.status, 400, 'no client authentication at all is a malformed request');
  const wrong = await postForm(`${gh.issuer}/token/introspection`, { token: cc }, basic('nobody', 'nothing'));
  t.equal(wrong.status, 401);
  t.equal(wrong.json.error, 'invalid_client');
});

t.test('revocation: a revoked refresh token stops working; other clients cannot revoke it', async (t) => {
  const { gh, userTokens, webAuth, job } = await setup(t);
  const tokens = await userTokens();
  const byOther = await postForm(`${gh.issuer}/token/revocation`, { token: tokens.refresh_token }, basic(job.client_id, job.client_secret!));
  t.equal(byOther.status, 200, 'RFC 7009: the answer does not reveal anything');
  const still = await postForm(`${gh.issuer}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, webAuth);
  t.equal(still.status, 200, 'another client cannot revoke it');
  const fresh = String(still.json.refresh_token);
  t.equal((await postForm(`${gh.issuer}/token/revocation`, { token: fresh }, webAuth)).status, 200);
  const dead = await postForm(`${gh.issuer}/token`, { grant_type: 'refresh_token', refresh_token: fresh }, webAuth);
  t.equal(dead.status, 400);
  t.equal(dead.json.error, 'invalid_grant');
});
