import type { AccountDeps } from '../../src/accounts/account-deps.ts';
import { createMemoryMailer } from '../../src/accounts/mailer.ts';
import { createMemoryOneTimeTokenStore } from '../../src/accounts/one-time-tokens.ts';
import type { PasswordHasher } from '../../src/accounts/password-hasher.ts';
import { createMemoryUserRepository } from '../../src/accounts/users.ts';
import { withoutTransaction } from '../../src/lib/unit-of-work.ts';
import { createMemoryAuditStore, createAuditLog } from '../../src/observability/audit.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { FIXED_START, steppableClock } from './clock.ts';

/**
 * A fast stand-in for argon2 in logic tests (the real hasher is tested over HTTP and in the flows):
 * records every call so tests can check that both branches of a decision pay the same work.
 */
export function fakeHasher(): PasswordHasher & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async hash(password) {
      calls.push('hash');
      return `$argon2id$v=19$m=19456,t=2,p=1$fake$${Buffer.from(password).toString('base64url')}`;
    },
    async verify(phc, password) {
      calls.push('verify');
      return phc.endsWith(`$${Buffer.from(password).toString('base64url')}`);
    },
    needsRehash: (phc) => !phc.startsWith('$argon2id$v=19$m=19456,t=2,p=1$'),
    async burn() {
      calls.push('burn');
    },
    pending: () => 0,
    saturated: () => false,
    close: async () => {},
  };
}

/** Memory implementations of every port, a fixed clock, and background work run on demand. */
export function accountFakes(overrides: Partial<AccountDeps> = {}) {
  const clock = steppableClock(FIXED_START);
  const auditStore = createMemoryAuditStore();
  const mailer = createMemoryMailer();
  const queued: (() => Promise<void>)[] = [];
  const revoked: string[] = [];
  const unlocked: string[] = [];
  const deps: AccountDeps = {
    users: createMemoryUserRepository(),
    hasher: fakeHasher(),
    tokens: createMemoryOneTimeTokenStore(),
    mailer,
    background: { run: (_name, task) => void queued.push(task) },
    audit: createAuditLog(auditStore, createLogger('silent'), clock),
    clock,
    atomically: withoutTransaction,
    issuer: 'https://id.example.com',
    revokeSessions: async (userId) => {
      revoked.push(userId);
      return 3;
    },
    unlockLogin: async (email) => {
      unlocked.push(email);
    },
    ...overrides,
  };
  return {
    deps,
    clock,
    auditStore,
    mailer,
    queued,
    revoked,
    unlocked,
    hasher: deps.hasher as ReturnType<typeof fakeHasher>,
    /** Runs the background work scheduled so far. */
    async drain() {
      while (queued.length > 0) await queued.shift()!();
    },
  };
}

export const tokenOf = (link: string | undefined) => new URL(link!).searchParams.get('token')!;
