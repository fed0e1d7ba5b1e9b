import t, { type Test } from 'tap';
import { createMemoryMfaStore, type MfaStore } from '../../src/accounts/mfa/mfa-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openDatabase } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { createPrismaMfaStore } from '../../src/persistence/prisma-mfa.ts';
import { FIXED_START } from '../helpers/clock.ts';
import { createTestDatabase, DATABASE_KINDS } from '../helpers/databases.ts';

/** The second-factor store port, the same suite on every implementation: memory, SQLite, PostgreSQL. */
type Factory = (t: Test) => Promise<MfaStore>;

const implementations: Record<string, Factory> = {
  memory: async () => createMemoryMfaStore(),
  ...Object.fromEntries(
    DATABASE_KINDS.map((kind) => [
      kind,
      async (t: Test) => {
        const { url } = await createTestDatabase(t, kind);
        await migrate(kind, url);
        const db = await openDatabase({ databaseUrl: url, databaseKind: kind, logger: createLogger('silent') });
        t.teardown(() => db.close());
        return createPrismaMfaStore(db.prisma);
      },
    ]),
  ),
};

const at = (seconds: number) => new Date(FIXED_START.getTime() + seconds * 1000);

for (const [name, create] of Object.entries(implementations)) {
  t.test(`${name}: second-factor store`, async (t) => {
    const store = await create(t);

    t.test('enrolment: pending until confirmed once; a confirmed factor is not replaced by a new enrolment', async (t) => {
      t.equal(await store.startTotp({ userId: 'u1', secret: 'sealed-1', createdAt: at(0) }), true);
      t.equal(await store.startTotp({ userId: 'u1', secret: 'sealed-2', createdAt: at(1) }), true, 'a pending one is replaced');
      t.match(await store.findTotp('u1'), { secret: 'sealed-2', confirmedAt: null, lastStep: 0 });
      t.equal(await store.acceptStep('u1', 100, at(2)), false, 'a pending factor accepts no code');
      t.equal(await store.confirmTotp('u1', 100, at(2)), true);
      t.equal(await store.confirmTotp('u1', 101, at(3)), false, 'confirmed only once');
      t.match(await store.findTotp('u1'), { confirmedAt: at(2), lastStep: 100 });
      t.equal(await store.startTotp({ userId: 'u1', secret: 'sealed-3', createdAt: at(4) }), false);
      t.equal((await store.findTotp('u1'))!.secret, 'sealed-2');
    });

    t.test('a step is accepted once, and no earlier one after it; racing requests with one step: one winner', async (t) => {
      t.equal(await store.acceptStep('u1', 100, at(5)), false, 'the confirming step is spent');
      t.equal(await store.acceptStep('u1', 101, at(30)), true);
      t.equal(await store.acceptStep('u1', 101, at(31)), false, 'replay');
      t.equal(await store.acceptStep('u1', 99, at(31)), false, 'an older step');
      const race = await Promise.all(Array.from({ length: 8 }, () => store.acceptStep('u1', 102, at(60))));
      t.equal(race.filter(Boolean).length, 1, 'exactly one of eight racing requests wins');
      t.match(await store.findTotp('u1'), { lastStep: 102, lastUsedAt: at(60) });
    });

    t.test('re-sealing only replaces the value it read', async (t) => {
      await store.resealTotp('u1', 'not-what-is-stored', 'sealed-x');
      t.equal((await store.findTotp('u1'))!.secret, 'sealed-2');
      await store.resealTotp('u1', 'sealed-2', 'sealed-4');
      t.equal((await store.findTotp('u1'))!.secret, 'sealed-4');
    });

    t.test('recovery codes: replaced as a set, each used once, per account; racing uses have one winner', async (t) => {
      await store.replaceRecoveryCodes('u1', ['h1', 'h2', 'h3'], at(0));
      await store.replaceRecoveryCodes('u2', ['h9'], at(0));
      t.equal(await store.unusedRecoveryCodes('u1'), 3);
      t.equal(await store.useRecoveryCode('u1', 'h9', at(1)), false, "another account's code");
      const race = await Promise.all(Array.from({ length: 6 }, () => store.useRecoveryCode('u1', 'h1', at(1))));
      t.equal(race.filter(Boolean).length, 1);
      t.equal(await store.unusedRecoveryCodes('u1'), 2);
      await store.replaceRecoveryCodes('u1', ['h4', 'h5'], at(2));
      t.equal(await store.useRecoveryCode('u1', 'h2', at(3)), false, 'replaced codes are gone');
      t.equal(await store.unusedRecoveryCodes('u1'), 2);
    });

    t.test('removal', async (t) => {
      t.equal(await store.deleteTotp('u1'), true);
      t.equal(await store.deleteTotp('u1'), false);
      t.equal(await store.findTotp('u1'), undefined);
      t.equal(await store.deleteRecoveryCodes('u1'), 2);
      t.equal(await store.unusedRecoveryCodes('u2'), 1, 'other accounts keep theirs');
    });
  });
}
