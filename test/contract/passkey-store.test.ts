import t, { type Test } from 'tap';
import { createMemoryPasskeyStore, MAX_PENDING_CHALLENGES, type Passkey, type PasskeyStore } from '../../src/accounts/passkeys/passkey-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openDatabase } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { createPrismaPasskeyStore } from '../../src/persistence/prisma-passkeys.ts';
import { FIXED_START } from '../helpers/clock.ts';
import { createTestDatabase, DATABASE_KINDS } from '../helpers/databases.ts';

/** The passkey port on every implementation (memory, SQLite, PostgreSQL): credentials by owner, and challenges that answer once. */
const at = (seconds: number) => new Date(FIXED_START.getTime() + seconds * 1000);
const passkey = (id: string, userId: string, name: string, createdAt: Date): Passkey => ({
  id,
  userId,
  publicKey: 'pQECAyYgASFYIA',
  counter: 0,
  transports: ['internal', 'hybrid'],
  deviceType: 'multiDevice',
  backedUp: true,
  name,
  createdAt,
  lastUsedAt: null,
});

const implementations: Record<string, (t: Test) => Promise<PasskeyStore>> = {
  memory: async () => createMemoryPasskeyStore(),
  ...Object.fromEntries(
    DATABASE_KINDS.map((kind) => [
      kind,
      async (t: Test) => {
        const { url } = await createTestDatabase(t, kind);
        await migrate(kind, url);
        const db = await openDatabase({ databaseUrl: url, databaseKind: kind, logger: createLogger('silent') });
        t.teardown(() => db.close());
        return createPrismaPasskeyStore(db.prisma);
      },
    ]),
  ),
};

for (const [name, create] of Object.entries(implementations)) {
  t.test(`${name}: passkeys`, async (t) => {
    const store = await create(t);

    t.equal(await store.insert(passkey('cred-a', 'u1', 'Laptop', at(0))), true);
    t.equal(await store.insert(passkey('cred-b', 'u1', 'Key', at(1))), true);
    t.equal(await store.insert(passkey('cred-a', 'u2', 'Stolen', at(2))), false, 'a credential ID belongs to one account');
    t.same((await store.listByUser('u1')).map((p) => p.name), ['Laptop', 'Key'], 'oldest first');
    t.same(await store.find('cred-a'), passkey('cred-a', 'u1', 'Laptop', at(0)), 'read back as written (transports, dates, flags)');

    t.equal(await store.used('cred-a', 0, 7, false, at(10)), true);
    t.match(await store.find('cred-a'), { counter: 7, backedUp: false, lastUsedAt: at(10) });
    t.equal(await store.used('cred-a', 0, 7, false, at(11)), false, 'not over a counter it was not checked against');
    const race = await Promise.all(Array.from({ length: 6 }, () => store.used('cred-a', 7, 8, false, at(12))));
    t.equal(race.filter(Boolean).length, 1, 'of six uses racing from one counter value, exactly one is recorded');
    t.match(await store.find('cred-a'), { counter: 8, lastUsedAt: at(12) });
    t.equal(await store.rename('u2', 'cred-a', 'Mine'), false, "not someone else's");
    t.equal(await store.rename('u1', 'cred-a', 'Work laptop'), true);
    t.equal(await store.remove('u2', 'cred-b'), false);
    t.equal(await store.remove('u1', 'cred-b'), true);
    t.equal(await store.removeAll('u1'), 1);
    t.same(await store.listByUser('u1'), []);

    // Challenges: purpose, binding and expiry must match; of two simultaneous takes exactly one wins.
    await store.saveChallenge({ hash: 'h1', purpose: 'sign_in', binding: 'b1', userId: null, expiresAt: at(300) });
    t.equal(await store.consumeChallenge('h1', 'register', 'b1', at(1)), undefined, 'purpose');
    t.equal(await store.consumeChallenge('h1', 'sign_in', 'b2', at(1)), undefined, 'binding');
    t.equal(await store.consumeChallenge('h1', 'sign_in', 'b1', at(300)), undefined, 'expiry');
    const takes = await Promise.all([1, 2, 3, 4].map(() => store.consumeChallenge('h1', 'sign_in', 'b1', at(1))));
    t.equal(takes.filter(Boolean).length, 1, 'one of four simultaneous takes');
    t.equal(await store.consumeChallenge('h1', 'sign_in', 'b1', at(1)), undefined, 'gone');

    await store.saveChallenge({ hash: 'h2', purpose: 'register', binding: 'b1', userId: 'u1', expiresAt: at(300) });
    await store.saveChallenge({ hash: 'h3', purpose: 'register', binding: 'b1', userId: 'u1', expiresAt: at(600) });
    t.equal(await store.sweepExpired(at(300)), 1, 'expired challenges swept');
    t.match(await store.consumeChallenge('h3', 'register', 'b1', at(301)), { userId: 'u1' });

    // Asking again and again for one binding keeps only the newest MAX_PENDING_CHALLENGES waiting.
    for (let i = 1; i <= 8; i++) await store.saveChallenge({ hash: `flood-${i}`, purpose: 'sign_in', binding: 'b9', userId: null, expiresAt: at(1000 + i) });
    await store.saveChallenge({ hash: 'other-binding', purpose: 'sign_in', binding: 'b8', userId: null, expiresAt: at(900) });
    await store.saveChallenge({ hash: 'other-purpose', purpose: 'register', binding: 'b9', userId: 'u1', expiresAt: at(900) });
    const left = [];
    for (let i = 1; i <= 8; i++) if (await store.consumeChallenge(`flood-${i}`, 'sign_in', 'b9', at(10))) left.push(i);
    t.equal(MAX_PENDING_CHALLENGES, 5);
    t.same(left, [4, 5, 6, 7, 8], 'the five newest stay, the older ones are gone');
    t.ok(await store.consumeChallenge('other-binding', 'sign_in', 'b8', at(10)), "another binding's challenge is untouched");
    t.ok(await store.consumeChallenge('other-purpose', 'register', 'b9', at(10)), "and so is another purpose's");
  });
}
