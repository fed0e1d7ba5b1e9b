import t, { type Test } from 'tap';
import {
  createMemoryOneTimeTokenStore,
  hashOneTimeToken,
  issueOneTimeToken,
  type OneTimeTokenStore,
} from '../../src/accounts/one-time-tokens.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openDatabase } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { createPrismaOneTimeTokenStore } from '../../src/persistence/prisma-one-time-tokens.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { createTestDatabase, DATABASE_KINDS } from '../helpers/databases.ts';

/** The one-time token port, the same suite on every implementation: memory, SQLite, PostgreSQL. */
type Factory = (t: Test) => Promise<OneTimeTokenStore>;

const implementations: Record<string, Factory> = {
  memory: async () => createMemoryOneTimeTokenStore(),
  ...Object.fromEntries(
    DATABASE_KINDS.map((kind) => [
      kind,
      async (t: Test) => {
        const { url } = await createTestDatabase(t, kind);
        await migrate(kind, url);
        const db = await openDatabase({ databaseUrl: url, databaseKind: kind, logger: createLogger('silent') });
        t.teardown(() => db.close());
        return createPrismaOneTimeTokenStore(db.prisma);
      },
    ]),
  ),
};

for (const [name, create] of Object.entries(implementations)) {
  t.test(`${name}: one-time tokens`, async (t) => {
    const tokens = await create(t);
    const clock = steppableClock(FIXED_START);
    const deps = { tokens, clock };

    t.test('a token is valid until used, then used; peeking consumes nothing', async (t) => {
      const token = await issueOneTimeToken(deps, 'u1', 'verify_email');
      t.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
      const hash = hashOneTimeToken(token);
      t.not(hash, token, 'only a hash is stored');
      t.same(await tokens.peek(hash, 'verify_email', clock.now()), { status: 'valid', userId: 'u1', data: null });
      t.same(await tokens.peek(hash, 'verify_email', clock.now()), { status: 'valid', userId: 'u1', data: null });
      t.same(await tokens.peek(hash, 'reset_password', clock.now()), { status: 'unknown' }, 'a token works for its own purpose only');
      t.same(await tokens.consume(hash, 'reset_password', clock.now()), { status: 'unknown' });
      t.same(await tokens.consume(hash, 'verify_email', clock.now()), { status: 'valid', userId: 'u1', data: null });
      t.same(await tokens.consume(hash, 'verify_email', clock.now()), { status: 'used' });
      t.same(await tokens.peek(hash, 'verify_email', clock.now()), { status: 'used' });
      t.same(await tokens.peek(hashOneTimeToken('nope'), 'verify_email', clock.now()), { status: 'unknown' });
    });

    t.test('a change_email token carries the new address', async (t) => {
      const hash = hashOneTimeToken(await issueOneTimeToken(deps, 'u2', 'change_email', 'new@example.com'));
      t.same(await tokens.peek(hash, 'change_email', clock.now()), { status: 'valid', userId: 'u2', data: 'new@example.com' });
      t.same(await tokens.consume(hash, 'change_email', clock.now()), { status: 'valid', userId: 'u2', data: 'new@example.com' });
    });

    t.test('two concurrent uses: exactly one wins', async (t) => {
      for (let round = 0; round < 5; round++) {
        const hash = hashOneTimeToken(await issueOneTimeToken(deps, 'u3', 'reset_password'));
        const results = await Promise.all(Array.from({ length: 4 }, () => tokens.consume(hash, 'reset_password', clock.now())));
        t.equal(results.filter((r) => r.status === 'valid').length, 1, `round ${round}: one winner`);
        t.equal(results.filter((r) => r.status === 'used').length, 3, 'the others see it used');
      }
    });

    t.test('lifetimes: verification 24 h, reset 30 min; expired tokens are swept', async (t) => {
      const verify = hashOneTimeToken(await issueOneTimeToken(deps, 'u4', 'verify_email'));
      const reset = hashOneTimeToken(await issueOneTimeToken(deps, 'u4', 'reset_password'));
      clock.advance(30 * 60 - 1);
      t.equal((await tokens.peek(reset, 'reset_password', clock.now())).status, 'valid', 'reset: still valid just before 30 min');
      clock.advance(1);
      t.same(await tokens.peek(reset, 'reset_password', clock.now()), { status: 'expired' });
      t.same(await tokens.consume(reset, 'reset_password', clock.now()), { status: 'expired' }, 'an expired token cannot be used');
      t.equal((await tokens.peek(verify, 'verify_email', clock.now())).status, 'valid');
      clock.advance(24 * 3600 - 30 * 60);
      t.same(await tokens.peek(verify, 'verify_email', clock.now()), { status: 'expired' }, 'verification: expired at 24 h');
      t.ok((await tokens.sweepExpired(clock.now())) >= 2);
      t.same(await tokens.peek(reset, 'reset_password', clock.now()), { status: 'unknown' }, 'swept');
    });

    t.test('revokeUnused deletes the account’s unused tokens of one purpose, nothing else', async (t) => {
      const used = hashOneTimeToken(await issueOneTimeToken(deps, 'u5', 'reset_password'));
      const unused = hashOneTimeToken(await issueOneTimeToken(deps, 'u5', 'reset_password'));
      const otherPurpose = hashOneTimeToken(await issueOneTimeToken(deps, 'u5', 'verify_email'));
      const otherUser = hashOneTimeToken(await issueOneTimeToken(deps, 'u6', 'reset_password'));
      await tokens.consume(used, 'reset_password', clock.now());
      t.equal(await tokens.revokeUnused('u5', 'reset_password'), 1);
      t.equal((await tokens.peek(unused, 'reset_password', clock.now())).status, 'unknown');
      t.equal((await tokens.peek(used, 'reset_password', clock.now())).status, 'used', 'a used token still says so');
      t.equal((await tokens.peek(otherPurpose, 'verify_email', clock.now())).status, 'valid');
      t.equal((await tokens.peek(otherUser, 'reset_password', clock.now())).status, 'valid');
    });

    t.test('a hash cannot be stored twice', async (t) => {
      const record = { hash: hashOneTimeToken('dup'), purpose: 'verify_email' as const, userId: 'u7', createdAt: clock.now(), expiresAt: clock.now() };
      await tokens.insert(record);
      await t.rejects(tokens.insert(record));
    });
  });
}
