import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from '../helpers/fixtures.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { systemClock } from '../../src/lib/clock.ts';

const REDIRECT = 'https://app.example.com/callback';
const API = 'https://orders.example.com';

async function setup(t: Test, kind: 'sqlite' | 'postgres', env: Record<string, string> = {}) {
  // Wall time: the in-process server's oidc-provider and its keyring (seeded a day back) measure real time.
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, kind, clock, env });
  await registerApi(gh.services, API, 'orders:read');
  const client = await registerClient(gh.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'], resources: [API] });
  await createVerifiedUser(gh.services, 'alice@example.com', PASSWORD);
  const config = await relyingParty(gh, client);
  const auth = basic(client.client_id, client.client_secret!);
  /** A fresh authorization code (login + consent) and its PKCE verifier. */
  const code = async () => {
    const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
    const step = await signIn(new UserAgent(), start.url, REDIRECT, 'alice@example.com', PASSWORD);
    return { code: new URL(step.location!).searchParams.get('code')!, verifier: start.verifier };
  };
  const redeem = (c: { code: string; verifier: string }) =>
    postForm(`${gh.issuer}/token`, { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT }, auth);
  const refresh = (token: string) => postForm(`${gh.issuer}/token`, { grant_type: 'refresh_token', refresh_token: token }, auth);
  const introspect = (token: string) => postForm(`${gh.issuer}/token/introspection`, { token }, auth);
  return { gh, clock, code, redeem, refresh, introspect };
}

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: 20 concurrent redemptions of one code → exactly one success`, async (t) => {
    const { gh, code, redeem } = await setup(t, kind);
    const c = await code();
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(c)));
    const ok = results.filter((r) => r.status === 200);
    t.equal(ok.length, 1, 'one winner');
    for (const r of results.filter((x) => x.status !== 200)) {
      t.equal(r.status, 400);
      t.equal(r.json.error, 'invalid_grant');
    }
    t.ok(results.every((r) => r.status < 500), 'never a 500');
    const events = await gh.services.auditStore.query({ type: 'authorization_code.reuse_detected', limit: 50 });
    // The first loser to see the code used revokes the grant (and is audited); later ones find no grant.
    t.ok(events.length >= 1, `the reuse is audited (${events.length} events)`);
  });

  t.test(`${kind}: a reused code revokes the tokens issued from its first redemption`, async (t) => {
    const { gh, code, redeem, introspect } = await setup(t, kind);
    const c = await code();
    const first = await redeem(c);
    t.equal(first.status, 200);
    t.equal((await introspect(String(first.json.refresh_token))).json.active, true);
    const again = await redeem(c);
    t.equal(again.status, 400);
    t.equal(again.json.error, 'invalid_grant');
    t.same((await introspect(String(first.json.access_token))).json, { active: false }, 'the access token is dead');
    t.same((await introspect(String(first.json.refresh_token))).json, { active: false }, 'the refresh token is dead');
    const events = await gh.services.auditStore.query({ type: 'authorization_code.reuse_detected', limit: 10 });
    t.equal(events.length, 1, 'audited');
  });

  t.test(`${kind}: 20 concurrent refreshes with one token share one successor; after the window reuse revokes the grant`, async (t) => {
    const { gh, clock, code, redeem, refresh, introspect } = await setup(t, kind);
    const tokens = await redeem(await code());
    const old = String(tokens.json.refresh_token);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(old)));
    const ok = results.filter((r) => r.status === 200);
    t.equal(ok.length, 20, 'inside the grace window every retry succeeds');
    const successors = new Set(ok.map((r) => r.json.refresh_token));
    t.equal(successors.size, 1, 'all carry the same successor (no fork)');
    const [successor] = [...successors] as string[];
    t.not(successor, old);
    t.equal((await introspect(successor!)).json.active, true);

    // A retry after the race, still inside the window: the engine refuses the used token, and its
    // refusal (with the revocation it would bring) gives way to the recorded answer.
    clock.advance(gh.config.refreshGraceSeconds - 1);
    const retry = await refresh(old);
    t.equal(retry.status, 200, 'a later retry inside the window succeeds');
    t.equal(retry.json.refresh_token, successor, 'with the same successor');
    t.equal((await introspect(successor!)).json.active, true, 'and nothing is revoked');
    t.equal((await gh.services.auditStore.query({ type: 'refresh.reuse_detected', limit: 10 })).length, 0, 'no reuse audited');

    clock.advance(2);
    const replay = await refresh(old);
    t.equal(replay.status, 400);
    t.equal(replay.json.error, 'invalid_grant', 'reuse after the window fails');
    t.same((await introspect(successor!)).json, { active: false }, 'and the whole family is revoked');
    const next = await refresh(successor!);
    t.equal(next.json.error, 'invalid_grant', 'the successor stops working');
    const events = await gh.services.auditStore.query({ type: 'refresh.reuse_detected', limit: 10 });
    t.equal(events.length, 1, 'one audit event');
    t.ok(events[0]!.userId, 'naming the account');
  });

  t.test(`${kind}: a rotation that is not a retry reads no rotation record`, async (t) => {
    const { gh, code, redeem, refresh } = await setup(t, kind);
    const rotations = gh.services.rotations;
    const get = rotations.get.bind(rotations);
    let lookups = 0;
    rotations.get = (key) => {
      lookups++;
      return get(key);
    };
    t.teardown(() => {
      rotations.get = get;
    });
    let token = String((await redeem(await code())).json.refresh_token);
    for (let i = 0; i < 3; i++) {
      const next = await refresh(token);
      t.equal(next.status, 200);
      token = String(next.json.refresh_token);
    }
    t.equal(lookups, 0, 'three rotations, no lookup of a previous rotation');
  });

  t.test(`${kind}: REFRESH_GRACE_SECONDS=0 is strict rotation: one winner, reuse revokes the family`, async (t) => {
    const { code, redeem, refresh } = await setup(t, kind, { REFRESH_GRACE_SECONDS: '0' });
    const tokens = await redeem(await code());
    const old = String(tokens.json.refresh_token);
    const first = await refresh(old);
    t.equal(first.status, 200);
    const replay = await refresh(old);
    t.equal(replay.json.error, 'invalid_grant', 'an immediate retry is already reuse');
    t.equal((await refresh(String(first.json.refresh_token))).json.error, 'invalid_grant', 'the successor is revoked too');

    // Each loser revokes the grant, and on PostgreSQL those revocations can deadlock one another:
    // the aborted one is run again, so a loser is still told invalid_grant (it once got a 503).
    for (let round = 1; round <= 5; round++) {
      const fresh = String((await redeem(await code())).json.refresh_token);
      const raced = await Promise.all(Array.from({ length: 10 }, () => refresh(fresh)));
      const statuses = raced.map((r) => `${r.status} ${r.json.error ?? ''}`.trim()).join(', ');
      t.equal(raced.filter((r) => r.status === 200).length, 1, `round ${round}: one winner`);
      t.ok(
        raced.every((r) => r.status === 200 || (r.status === 400 && r.json.error === 'invalid_grant')),
        `round ${round}: every loser is told invalid_grant (${statuses})`,
      );
    }
  });
}
