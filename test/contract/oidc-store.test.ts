import t, { type Test } from 'tap';
import { sha256 } from '../../src/lib/digest.ts';
import { createMemoryOidcStore, type OidcStore } from '../../src/oidc/oidc-store.ts';
import { createMemoryRefreshRotationStore, type RefreshRotationStore } from '../../src/oidc/refresh-rotation-store.ts';
import { steppableClock } from '../helpers/clock.ts';
import { databaseServices, STORE_KINDS, type StoreKind } from '../helpers/stores.ts';

/** The OidcStore port behaves the same on every implementation (memory reference, SQLite, PostgreSQL). */
async function stores(t: Test, kind: StoreKind) {
  const clock = steppableClock();
  if (kind === 'memory') {
    return { clock, store: createMemoryOidcStore(() => clock.now().getTime()) as OidcStore, rotations: createMemoryRefreshRotationStore() as RefreshRotationStore };
  }
  const s = await databaseServices(t, kind, clock);
  return { clock, store: s.oidcStore, rotations: s.rotations };
}

for (const kind of STORE_KINDS) {
  t.test(`${kind}: upsert, find, expiry and destroy`, async (t) => {
    const { store, clock } = await stores(t, kind);
    await store.upsert('AccessToken', 'tok-1', { jti: 'tok-1', accountId: 'u1', grantId: 'g1', scope: 'openid' }, 60);
    t.match(await store.find('AccessToken', 'tok-1'), { jti: 'tok-1', accountId: 'u1', grantId: 'g1', scope: 'openid' });
    t.equal(await store.find('AccessToken', 'tok-2'), undefined);
    t.equal(await store.find('RefreshToken', 'tok-1'), undefined, 'keyed by model and id');
    await store.upsert('AccessToken', 'tok-1', { jti: 'tok-1', accountId: 'u1', grantId: 'g1', scope: 'openid email' }, 60);
    t.match(await store.find('AccessToken', 'tok-1'), { scope: 'openid email' }, 'upsert replaces');
    clock.advance(61);
    t.equal(await store.find('AccessToken', 'tok-1'), undefined, 'expired rows are missing');
    t.equal(await store.sweepExpired(), 1, 'and swept');
    await store.upsert('Session', 's1', { jti: 's1', uid: 'uid-1', accountId: 'u1' }, undefined);
    await store.destroy('Session', 's1');
    t.equal(await store.find('Session', 's1'), undefined);
  });

  t.test(`${kind}: lookups by uid and user code`, async (t) => {
    const { store } = await stores(t, kind);
    await store.upsert('Session', 'sess-secret', { jti: 'sess-secret', uid: 'uid-1', accountId: 'u1' }, 600);
    t.match(await store.findByUid('Session', 'uid-1'), { jti: 'sess-secret', accountId: 'u1' }, 'the engine needs the id back');
    t.equal(await store.findByUid('Session', 'uid-2'), undefined);
    await store.upsert('DeviceCode', 'dc-1', { jti: 'dc-1', userCode: 'BCDFGHJK', grantId: 'g1' }, 600);
    t.match(await store.findByUserCode('DeviceCode', 'BCDFGHJK'), { jti: 'dc-1' });
    t.equal(await store.findByUserCode('DeviceCode', 'XXXXXXXX'), undefined);
  });

  t.test(`${kind}: consume is atomic — of 25 concurrent calls exactly one wins`, async (t) => {
    const { store } = await stores(t, kind);
    await store.upsert('AuthorizationCode', 'code-1', { jti: 'code-1', grantId: 'g1', accountId: 'u1' }, 60);
    const results = await Promise.all(Array.from({ length: 25 }, () => store.consume('AuthorizationCode', 'code-1')));
    t.equal(results.filter((r) => r.status === 'consumed').length, 1);
    t.equal(results.filter((r) => r.status === 'already_consumed').length, 24);
    t.same(results.find((r) => r.status === 'already_consumed'), { status: 'already_consumed', grantId: 'g1' }, 'the loser learns the grant to revoke');
    t.type((await store.find('AuthorizationCode', 'code-1'))!.consumed, 'number', 'the payload shows it consumed');
    t.same(await store.consume('AuthorizationCode', 'nope'), { status: 'missing' });
    await store.unconsume('AuthorizationCode', 'code-1');
    t.equal((await store.find('AuthorizationCode', 'code-1'))!.consumed, undefined, 'unconsume gives it back');
  });

  t.test(`${kind}: revoke by grant and by account`, async (t) => {
    const { store } = await stores(t, kind);
    await store.upsert('Grant', 'g1', { jti: 'g1', accountId: 'u1', clientId: 'c1' }, 600);
    await store.upsert('RefreshToken', 'rt-1', { jti: 'rt-1', grantId: 'g1', accountId: 'u1' }, 600);
    await store.upsert('AccessToken', 'at-1', { jti: 'at-1', grantId: 'g1', accountId: 'u1' }, 600);
    await store.upsert('RefreshToken', 'rt-2', { jti: 'rt-2', grantId: 'g2', accountId: 'u1' }, 600);
    await store.upsert('Session', 's-1', { jti: 's-1', uid: 'x', accountId: 'u1' }, 600);
    await store.upsert('Session', 's-2', { jti: 's-2', uid: 'y', accountId: 'u2' }, 600);
    t.equal(await store.grantAlive(sha256('g1')), true);
    await store.revokeByGrantId('g1');
    t.equal(await store.find('RefreshToken', 'rt-1'), undefined);
    t.equal(await store.find('AccessToken', 'at-1'), undefined);
    t.equal(await store.find('Grant', 'g1'), undefined, 'the grant itself goes too');
    t.equal(await store.grantAlive(sha256('g1')), false);
    t.ok(await store.find('RefreshToken', 'rt-2'), 'other grants stay');
    t.equal(await store.revokeByAccountId('u1'), 2, "the rest of u1's rows");
    t.equal(await store.find('Session', 's-1'), undefined);
    t.ok(await store.find('Session', 's-2'), "u2's session stays");
  });

  t.test(`${kind}: refresh rotation claims have one winner and carry the response`, async (t) => {
    const { rotations, clock } = await stores(t, kind);
    const now = clock.now();
    const later = new Date(now.getTime() + 60_000);
    const claims = await Promise.all(Array.from({ length: 15 }, () => rotations.claim('hash-1', 'c1', now, later)));
    t.equal(claims.filter((c) => c === 'won').length, 1);
    t.match(claims.find((c) => c !== 'won'), { clientId: 'c1', response: null });
    await rotations.complete('hash-1', 'sealed-response');
    t.match(await rotations.get('hash-1'), { clientId: 'c1', response: 'sealed-response' });
    await rotations.release('hash-1');
    t.equal(await rotations.get('hash-1'), undefined);
    t.equal(await rotations.claim('hash-1', 'c1', now, later), 'won', 'released claims can be won again');
    t.equal(await rotations.sweepExpired(new Date(later.getTime() + 1)), 1);
  });
}

for (const kind of ['sqlite', 'postgres'] as const) {
  t.test(`${kind}: the table never holds a usable refresh token, code or user code`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock());
    await s.oidcStore.upsert('RefreshToken', 'refresh-secret-value', { jti: 'refresh-secret-value', grantId: 'g' }, 60);
    await s.oidcStore.upsert('AuthorizationCode', 'code-secret-value', { jti: 'code-secret-value', grantId: 'g' }, 60);
    await s.oidcStore.upsert('DeviceCode', 'device-code', { jti: 'device-code', userCode: 'BCDFGHJK' }, 60);
    const rows = await s.database.prisma.oidcPayload.findMany();
    t.equal(rows.length, 3);
    const dump = JSON.stringify(rows);
    t.notMatch(dump, /refresh-secret-value/);
    t.notMatch(dump, /code-secret-value/);
    t.notMatch(dump, /BCDFGHJK/, 'the user code is stored as a hash only');
    t.ok(rows.every((r) => r.id === sha256(r.model === 'RefreshToken' ? 'refresh-secret-value' : r.model === 'AuthorizationCode' ? 'code-secret-value' : 'device-code')));
    t.match(await s.oidcStore.findByUserCode('DeviceCode', 'BCDFGHJK'), { jti: 'device-code', userCode: 'BCDFGHJK' }, 'and given back by the lookup');
  });
}
