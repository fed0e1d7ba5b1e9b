import t, { type Test } from 'tap';
import { createMemoryMfaStore, type MfaStore } from '../../src/accounts/mfa/mfa-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openDatabase } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { createPrismaMfaStore } from '../../src/persistence/prisma-mfa.ts';
import { createMemoryMailer } from '../../src/accounts/mailer.ts';
import { resetSecondFactors, type SecondFactorDeps } from '../../src/accounts/mfa/second-factors.ts';
import { newUser } from '../../src/accounts/users.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { createMemoryIpBanRepository } from '../../src/guard/bans.ts';
import { createMemoryAttemptStore } from '../../src/guard/counter.ts';
import { createLoginGuard } from '../../src/guard/login-guard.ts';
import { createAuditLog, createMemoryAuditStore } from '../../src/observability/audit.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
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

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: an operator's reset removes every factor in one unit of work, or none`, async (t) => {
    const { url } = await createTestDatabase(t, kind);
    await migrate(kind, url);
    const db = await openDatabase({ databaseUrl: url, databaseKind: kind, logger: createLogger('silent') });
    t.teardown(() => db.close());
    const mfa = createPrismaMfaStore(db.prisma);
    const clock = steppableClock(FIXED_START);
    const auditStore = createMemoryAuditStore();
    let passkeysFail = true;
    const deps: SecondFactorDeps = {
      mfa,
      guard: createLoginGuard({ store: createMemoryAttemptStore(), bans: createMemoryIpBanRepository(), clock, settings: loadConfig({}).guard }),
      secrets: ['a-secret-that-is-long-enough-for-sealing-01'],
      clock,
      audit: createAuditLog(auditStore, createLogger('silent'), clock),
      mailer: createMemoryMailer(),
      background: { run: (_name, task) => void task() },
      issuer: 'https://id.example.com',
      productName: 'Gatehouse',
      // The passkeys' removal comes last: when it fails, what was removed before it must come back.
      passkeys: {
        listByUser: async () => [],
        removeAll: async () => {
          if (passkeysFail) throw new Error('the passkey table is unavailable');
          return 2;
        },
      },
      atomically: db.atomically,
    };
    const user = newUser({ email: 'ana@example.com', passwordHash: 'x', now: FIXED_START, emailVerifiedAt: FIXED_START });
    await mfa.startTotp({ userId: user.id, secret: 'sealed', createdAt: at(0) });
    await mfa.confirmTotp(user.id, 100, at(1));
    await mfa.replaceRecoveryCodes(user.id, ['h1', 'h2', 'h3'], at(1));

    await t.rejects(resetSecondFactors(deps, user, { actor: 'operator' }), /passkey table/);
    t.ok(await mfa.findTotp(user.id), 'the authenticator app is still there');
    t.equal(await mfa.unusedRecoveryCodes(user.id), 3, 'and so are the recovery codes');
    t.same(await auditStore.query({ type: 'mfa.reset', limit: 5 }), [], 'no reset audited');

    passkeysFail = false;
    t.same(await resetSecondFactors(deps, user, { actor: 'operator' }), { totp: true, recoveryCodes: 3, passkeys: 2 });
    t.equal(await mfa.findTotp(user.id), undefined, 'then everything goes');
    t.equal(await mfa.unusedRecoveryCodes(user.id), 0);
    t.equal((await auditStore.query({ type: 'mfa.reset', limit: 5 })).length, 1, 'audited once');
  });
}
