import * as jose from 'jose';
import t, { type Test } from 'tap';
import { banDependencies, banUser, signOutUser } from '../../src/admin/bans.ts';
import type { DatabaseKind } from '../../src/config/schema.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createVerifier } from '../../src/verifier/index.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const REDIRECT = 'https://app.example.com/callback';
const API = 'https://orders.example.com';

type Feed = { iss: string; iat: number; exp: number; subjects: Array<{ sub: string; not_before: number }>; grants: string[]; tokens: string[] };

async function setup(t: Test, kind: DatabaseKind) {
  // Wall time: the engine stamps tokens with the real clock; ours is stepped only forwards.
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock, kind });
  await registerApi(gh.services, API, 'orders:read');
  const web = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'], resources: [API] });
  const other = await registerClient(gh.services, { name: 'Other', grants: ['client_credentials'], resources: [API] });
  const webAuth = basic(web.client_id, web.client_secret!);
  const config = await relyingParty(gh, web);
  const userTokens = async (email: string) => {
    const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid offline_access orders:read', prompt: 'consent', resource: API });
    const step = await signIn(new UserAgent(), start.url, REDIRECT, email, PASSWORD);
    const res = await postForm(
      `${gh.issuer}/token`,
      { grant_type: 'authorization_code', code: new URL(step.location!).searchParams.get('code')!, code_verifier: start.verifier, redirect_uri: REDIRECT, resource: API },
      webAuth,
    );
    t.equal(res.status, 200);
    return res.json as { access_token: string; refresh_token: string };
  };
  const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri as string));
  const feedUri = discovery.gatehouse_revocation_feed_uri as string;
  const readFeed = async (): Promise<Feed> => {
    // The instance reuses a built feed for half a second: step past it.
    clock.advance(1);
    const res = await fetch(feedUri);
    t.equal(res.status, 200);
    const { payload } = await jose.jwtVerify(await res.text(), jwks, { issuer: gh.issuer, typ: 'revocation-feed+jwt', algorithms: ['ES256'], currentDate: clock.now() });
    return payload as unknown as Feed;
  };
  return { gh, clock, web, other, webAuth, userTokens, feedUri, readFeed };
}

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: the feed is advertised, signed with its own typ, cacheable, with an ETag and a 304`, async (t) => {
    const { gh, feedUri, readFeed, clock } = await setup(t, kind);
    t.equal(feedUri, `${gh.issuer}/revocation-feed`);
    const res = await fetch(feedUri);
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /^application\/jwt/);
    t.match(res.headers.get('cache-control'), /^public, max-age=\d+$/);
    const etag = res.headers.get('etag')!;
    t.match(etag, /^"[\w-]+"$/);
    const jws = await res.text();
    t.match(jose.decodeProtectedHeader(jws), { alg: 'ES256', typ: 'revocation-feed+jwt' });
    t.match(await readFeed(), { iss: gh.issuer, subjects: [], grants: [], tokens: [] });

    clock.advance(1);
    const again = await fetch(feedUri, { headers: { 'if-none-match': etag } });
    t.equal(again.status, 304);
    t.equal(await again.text(), '');

    // An access-token verifier never takes the feed for a token (typ at+jwt).
    const verifier = createVerifier({ issuer: gh.issuer, audience: API });
    await t.rejects(verifier.verify(`Bearer ${jws}`), { code: 'ERR_TOKEN_TYPE' });
  });

  t.test(`${kind}: a ban, a revoked grant and a revoked access token are listed, then drop out`, async (t) => {
    const { gh, clock, webAuth, other, userTokens, readFeed, feedUri } = await setup(t, kind);
    const alice = await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
    await createVerifiedUser(gh.services, 'bob@example.com', PASSWORD);
    await createVerifiedUser(gh.services, 'carol@example.com', PASSWORD);
    const aliceTokens = await userTokens('alice@example.com');
    const bobTokens = await userTokens('bob@example.com');
    const carolTokens = await userTokens('carol@example.com');
    const etag = (await fetch(feedUri)).headers.get('etag');

    // The tokens were stamped by the engine's (wall) clock: bring ours up to it before the ban.
    clock.advance(Math.max(0, systemClock.now().getTime() - clock.now().getTime()) / 1000);
    await banUser(banDependencies(gh.services, 'test'), 'alice@example.com');
    const afterBan = await readFeed();
    t.equal(afterBan.subjects.length, 1);
    t.equal(afterBan.subjects[0]!.sub, alice.id);
    t.ok(afterBan.subjects[0]!.not_before > jose.decodeJwt(aliceTokens.access_token).iat!, "alice's token was issued before the cut-off");
    t.notOk(JSON.stringify(afterBan).includes('alice@example.com'), 'no email in the feed');
    clock.advance(1);
    t.not((await fetch(feedUri)).headers.get('etag'), etag, 'a new entry, a new ETag');

    // Revoking bob's refresh token revokes his grant: its reference is the token's gh_grant.
    t.equal((await postForm(`${gh.issuer}/token/revocation`, { token: bobTokens.refresh_token }, webAuth)).status, 200);
    const bobGrant = jose.decodeJwt(bobTokens.access_token).gh_grant as string;
    t.ok((await readFeed()).grants.includes(bobGrant));

    // An access token revoked by another client: 200 (RFC 7009), nothing listed.
    const carolJti = jose.decodeJwt(carolTokens.access_token).jti!;
    const stranger = await postForm(`${gh.issuer}/token/revocation`, { token: carolTokens.access_token }, basic(other.client_id, other.client_secret!));
    t.equal(stranger.status, 200);
    t.notOk((await readFeed()).tokens.includes(carolJti));
    // By its own client: listed by jti, and audited.
    const own = await postForm(`${gh.issuer}/token/revocation`, { token: carolTokens.access_token, token_type_hint: 'access_token' }, webAuth);
    t.equal(own.status, 200);
    t.same((await readFeed()).tokens, [carolJti]);
    const events = await gh.services.auditStore.query({ type: 'access_token.revoked', limit: 5 });
    t.equal(events.length, 1);
    // A forged or foreign JWT changes nothing.
    const forged = await new jose.SignJWT({ client_id: 'x' }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).setJti('forged').sign(new Uint8Array(32));
    t.equal((await postForm(`${gh.issuer}/token/revocation`, { token: forged }, webAuth)).status, 200);
    t.same((await readFeed()).tokens, [carolJti]);

    // Signing out everywhere (no ban) lists the subject too.
    const carol = (await gh.services.users.findByEmail('carol@example.com'))!;
    t.match(await signOutUser(banDependencies(gh.services, 'test'), 'carol@example.com'), { email: 'carol@example.com' });
    t.ok((await readFeed()).subjects.some((s) => s.sub === carol.id), 'sign-out everywhere');

    // After the longest access-token lifetime plus the clock skew, the entries are of no use: gone.
    clock.advance(gh.config.accessTokenTtl + gh.config.clockSkew + 5);
    t.match(await readFeed(), { subjects: [], grants: [], tokens: [] });
    t.ok((await gh.services.revocations.listSince(new Date(0))).length > 0, 'still stored until the sweeper goes past its horizon');
    t.ok((await gh.services.revocations.sweep(clock.now())) > 0);
    t.same(await gh.services.revocations.listSince(new Date(0)), [], 'the sweeper deletes them');
  });
}
