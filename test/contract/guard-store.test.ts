import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config/load-config.ts';
import { createMemoryIpBanRepository, findIpBan, type IpBanRepository } from '../../src/guard/bans.ts';
import { createMemoryAttemptStore, decideAndWrite, type AttemptStore } from '../../src/guard/counter.ts';
import { createLoginGuard } from '../../src/guard/login-guard.ts';
import { admitConsecutive } from '../../src/guard/policy.ts';
import { createPrismaAttemptStore, createPrismaIpBanRepository } from '../../src/persistence/prisma-guard.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { databaseServices, STORE_KINDS, type StoreKind } from '../helpers/stores.ts';

const settings = loadConfig({}).guard;

async function stores(t: Test, kind: StoreKind): Promise<{ store: AttemptStore; bans: IpBanRepository }> {
  if (kind === 'memory') return { store: createMemoryAttemptStore(), bans: createMemoryIpBanRepository() };
  const s = await databaseServices(t, kind, steppableClock(FIXED_START));
  return { store: createPrismaAttemptStore(s.database.prisma), bans: createPrismaIpBanRepository(s.database.prisma) };
}

for (const kind of STORE_KINDS) {
  t.test(`${kind}: compare-and-set admits exactly the limit under 50 simultaneous attempts`, async (t) => {
    const { store } = await stores(t, kind);
    const results = await Promise.all(Array.from({ length: 50 }, () => decideAndWrite(store, 'k', 1000, (c) => admitConsecutive(c, 1000, settings))));
    t.equal(results.filter((r) => r.admit).length, settings.freeAttempts, 'exactly the free attempts get through');
    t.equal((await store.get('k'))?.count, settings.freeAttempts);
  });

  t.test(`${kind}: the login guard under 50 simultaneous wrong passwords lets through exactly the limit`, async (t) => {
    const { store, bans } = await stores(t, kind);
    const clock = steppableClock(FIXED_START);
    const guard = createLoginGuard({ store, bans, clock, settings });
    const attempts = await Promise.all(Array.from({ length: 50 }, () => guard.admit({ email: 'victim@example.com', ip: '198.51.100.7' })));
    t.equal(attempts.filter((a) => a.ok).length, settings.freeAttempts);
    t.ok(attempts.filter((a) => !a.ok).every((a) => !a.ok && a.refusal.reason === 'throttled' && a.refusal.retryAfter >= 1));
  });

  t.test(`${kind}: counters: versions, delete and sweep`, async (t) => {
    const { store } = await stores(t, kind);
    t.equal(await store.compareAndSet('a', 0, { count: 1, windowStart: 0, nextAllowedAt: 0, lockedUntil: 0, level: 0 }, 10), true);
    t.equal(await store.compareAndSet('a', 0, { count: 9, windowStart: 0, nextAllowedAt: 0, lockedUntil: 0, level: 0 }, 10), false, 'stale version loses');
    t.equal(await store.compareAndSet('a', 1, { count: 2, windowStart: 0, nextAllowedAt: 0, lockedUntil: 0, level: 0 }, 20), true);
    t.match(await store.get('a'), { count: 2, version: 2 });
    t.equal(await store.sweep(15), 0);
    t.equal(await store.sweep(25), 1);
    t.equal(await store.get('a'), undefined);
  });

  t.test(`${kind}: IP bans by address and range, with expiry`, async (t) => {
    const { bans } = await stores(t, kind);
    const clock = steppableClock(FIXED_START);
    await bans.put({ cidr: '203.0.113.0/24', reason: 'scanner', createdAt: clock.now(), expiresAt: new Date(clock.now().getTime() + 3600_000) });
    await bans.put({ cidr: '198.51.100.7', reason: null, createdAt: clock.now(), expiresAt: null });
    t.equal((await findIpBan(bans, clock, '203.0.113.77'))?.reason, 'scanner');
    t.ok(await findIpBan(bans, clock, '198.51.100.7'));
    t.equal(await findIpBan(bans, clock, '198.51.100.8'), undefined);
    clock.advance(3601);
    t.equal(await findIpBan(bans, clock, '203.0.113.77'), undefined, 'expired');
    t.equal(await bans.delete('198.51.100.7'), true);
    t.equal(await findIpBan(bans, clock, '198.51.100.7'), undefined);
  });
}
