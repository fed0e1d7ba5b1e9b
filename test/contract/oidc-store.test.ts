import t, { type Test } from 'tap';
import { sha256 } from '../../src/lib/digest.ts';
import { createMemoryOidcStore, type OidcStore } from '../../src/oidc/oidc-store.ts';
import { createMemoryRefreshRotationStore, type RefreshRotationStore } from '../../src/oidc/refresh-rotation-store.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { databaseServices, STORE_KINDS, type StoreKind } from '../helpers/stores.ts';

/** The OidcStore port behaves the same on every implementation (memory reference, SQLite, PostgreSQL). */
async function stores(t: Test, kind: StoreKind) {
  const clock = steppableClock(FIXED_START);
  if (kind === 'memory') {
    const store: OidcStore = createMemoryOidcStore(() => clock.now().getTime());
    return { clock, store, rotations: createMemoryRefreshRotationStore(store) as RefreshRotationStore };
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

  t.test(`${kind}: an account's sessions and grants are listed; revoking can keep one session`, async (t) => {
    const { store } = await stores(t, kind);
    await store.upsert('Grant', 'g1', { jti: 'g1', accountId: 'u1', clientId: 'c1' }, 600);
    await store.upsert('RefreshToken', 'rt-1', { jti: 'rt-1', grantId: 'g1', accountId: 'u1' }, 600);
    await store.upsert('Session', 's-1', { jti: 's-1', uid: 'x', accountId: 'u1' }, 600);
    await store.upsert('Session', 's-2', { jti: 's-2', uid: 'y', accountId: 'u1' }, 600);
    await store.upsert('Session', 's-3', { jti: 's-3', uid: 'z', accountId: 'u2' }, 600);
    const rows = await store.listByAccountId('u1', ['Session', 'Grant']);
    t.same(rows.map((r) => r.model).sort(), ['Grant', 'Session', 'Session'], "u1's sessions and grant, no token, nobody else's");
    t.same(rows.filter((r) => r.model === 'Session').map((r) => r.payload.uid).sort(), ['x', 'y']);
    t.equal(rows.find((r) => r.model === 'Grant')!.grantId, 'g1', 'a grant is listed with its id');
    t.equal(await store.revokeByAccountId('u1', { keepSession: 's-2' }), 3, 'all but the kept session');
    t.ok(await store.find('Session', 's-2'), 'the kept session stays');
    t.equal(await store.find('RefreshToken', 'rt-1'), undefined);
    t.ok(await store.find('Session', 's-3'), "u2's session stays");
  });

  t.test(`${kind}: of 15 concurrent rotations of one token exactly one commits, with its claim, consume and successor`, async (t) => {
    const { store, rotations, clock } = await stores(t, kind);
    await store.upsert('RefreshToken', 'rt-old', { jti: 'rt-old', grantId: 'g1', accountId: 'u1' }, 600);
    const now = clock.now();
    const claim = (i: number) => ({ tokenHash: 'hash-1', clientId: 'c1', createdAt: now, expiresAt: new Date(now.getTime() + 60_000), response: `response-${i}` });
    const rotate = (i: number) =>
      rotations.commit(claim(i), async (s) => {
        if ((await s.consume('RefreshToken', 'rt-old')).status !== 'consumed') return false;
        await s.upsert('RefreshToken', `rt-next-${i}`, { jti: `rt-next-${i}`, grantId: 'g1', accountId: 'u1' }, 600);
        return true;
      });
    const outcomes = await Promise.all(Array.from({ length: 15 }, (_, i) => rotate(i)));
    t.equal(outcomes.filter((o) => o === 'committed').length, 1, 'one rotation commits');
    t.equal(outcomes.filter((o) => o === 'conflict').length, 14, 'the others are told they lost');
    const winner = outcomes.indexOf('committed');
    t.match(await rotations.get('hash-1'), { clientId: 'c1', response: `response-${winner}` }, 'the claim carries the winner\'s response');
    t.type((await store.find('RefreshToken', 'rt-old'))!.consumed, 'number', 'the old token is consumed');
    const successors = await Promise.all(Array.from({ length: 15 }, (_, i) => store.find('RefreshToken', `rt-next-${i}`)));
    t.same(successors.map((x, i) => (x ? i : -1)).filter((i) => i >= 0), [winner], 'only the winner\'s successor exists');
    t.equal(await rotations.sweepExpired(new Date(now.getTime() + 60_001)), 1, 'the claim is swept after its time');
  });

  t.test(`${kind}: a commit whose consume fails writes nothing, claim included`, async (t) => {
    const { store, rotations, clock } = await stores(t, kind);
    await store.upsert('AuthorizationCode', 'code-1', { jti: 'code-1', grantId: 'g1' }, 60);
    await store.consume('AuthorizationCode', 'code-1');
    const now = clock.now();
    const outcome = await rotations.commit({ tokenHash: 'hash-2', clientId: 'c1', createdAt: now, expiresAt: now, response: 'r' }, async (s) => {
      if ((await s.consume('AuthorizationCode', 'code-1')).status !== 'consumed') return false;
      await s.upsert('AccessToken', 'at-1', { jti: 'at-1', grantId: 'g1' }, 60);
      return true;
    });
    t.equal(outcome, 'conflict');
    t.equal(await rotations.get('hash-2'), undefined, 'no claim');
    t.equal(await store.find('AccessToken', 'at-1'), undefined, 'no token');
    t.equal(await rotations.commit(null, async (s) => (await s.upsert('AccessToken', 'at-2', { jti: 'at-2' }, 60), true)), 'committed', 'a commit without a claim');
    t.ok(await store.find('AccessToken', 'at-2'));
  });
}

for (const kind of ['sqlite', 'postgres'] as const) {
  t.test(`${kind}: the table never holds a usable refresh token, code or user code`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
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

for (const kind of ['sqlite', 'postgres'] as const) {
  t.test(`${kind}: a rotation that fails half-way leaves nothing: the old token is not consumed`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    await s.oidcStore.upsert('RefreshToken', 'rt-old', { jti: 'rt-old', grantId: 'g1' }, 600);
    const now = new Date();
    const claim = { tokenHash: 'hash-3', clientId: 'c1', createdAt: now, expiresAt: new Date(now.getTime() + 60_000), response: 'r' };
    const failing = s.rotations.commit(claim, async (tx) => {
      t.equal((await tx.consume('RefreshToken', 'rt-old')).status, 'consumed');
      await tx.upsert('RefreshToken', 'rt-next', { jti: 'rt-next', grantId: 'g1' }, 600);
      throw new Error('the process dies here');
    });
    await t.rejects(failing, { message: 'the process dies here' });
    t.equal((await s.oidcStore.find('RefreshToken', 'rt-old'))!.consumed, undefined, 'the old token still works');
    t.equal(await s.oidcStore.find('RefreshToken', 'rt-next'), undefined, 'no successor');
    t.equal(await s.rotations.get('hash-3'), undefined, 'no claim');
  });

  t.test(`${kind}: a claim without a response (left by an older version that crashed) is taken over`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    const now = new Date();
    await s.database.prisma.refreshRotation.create({ data: { tokenHash: 'hash-4', clientId: 'c1', createdAt: now, expiresAt: new Date(now.getTime() + 60_000), response: null } });
    const claim = { tokenHash: 'hash-4', clientId: 'c1', createdAt: now, expiresAt: new Date(now.getTime() + 60_000), response: 'r' };
    t.equal(await s.rotations.commit(claim, async () => true), 'committed');
    t.match(await s.rotations.get('hash-4'), { response: 'r' });
  });

  t.test(`${kind}: a claim on a token whose rotation committed loses and writes nothing`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    const now = new Date();
    const claim = (response: string) => ({ tokenHash: 'hash-5', clientId: 'c1', createdAt: now, expiresAt: new Date(now.getTime() + 60_000), response });
    t.equal(await s.rotations.commit(claim('first'), async () => true), 'committed');
    let wrote = false;
    const second = await s.rotations.commit(claim('second'), async (tx) => {
      wrote = true;
      await tx.upsert('RefreshToken', 'rt-late', { jti: 'rt-late', grantId: 'g1' }, 600);
      return true;
    });
    t.equal(second, 'conflict');
    t.notOk(wrote, "the loser's writes never ran");
    t.equal(await s.oidcStore.find('RefreshToken', 'rt-late'), undefined);
    t.match(await s.rotations.get('hash-5'), { response: 'first' }, "the first rotation's response is kept");
  });
}
