import { availableParallelism } from 'node:os';
import type { AccountDeps } from './accounts/account-deps.js';
import type { SecondFactorDeps } from './accounts/mfa/second-factors.js';
import { createPasswordHasher } from './accounts/password-hasher.js';
import type { Config } from './config/schema.js';
import { createBackgroundTasks } from './lib/background-tasks.js';
import type { Clock } from './lib/clock.js';
import { createMailer } from './mail/create-mailer.js';
import { brandOf, createPresentation, mailWriterOf } from './rendering/presentation.js';
import { createAuditLog } from './observability/audit.js';
import type { Logger } from './observability/logger.js';
import type { Trace } from './observability/tracing.js';
import type { Database } from './persistence/database.js';
import { createPrismaAuditStore } from './persistence/prisma-audit.js';
import { createPrismaClientRepository, createPrismaResourceRepository } from './persistence/prisma-clients.js';
import { createPrismaOidcStore } from './persistence/prisma-oidc-store.js';
import { createPrismaMfaStore } from './persistence/prisma-mfa.js';
import { createPrismaOneTimeTokenStore } from './persistence/prisma-one-time-tokens.js';
import { createPrismaRefreshRotationStore } from './persistence/prisma-refresh-rotations.js';
import { createPrismaRevocationStore } from './persistence/prisma-revocations.js';
import { createPrismaUserRepository } from './persistence/prisma-users.js';
import { createPrismaPasskeyStore } from './persistence/prisma-passkeys.js';
import { resetPasskeys } from './accounts/passkeys/manage-passkeys.js';
import { cachedIpBans } from './guard/bans.js';
import { createLoginGuard } from './guard/login-guard.js';
import { createPrismaAttemptStore, createPrismaIpBanRepository } from './persistence/prisma-guard.js';
import { createSessionDirectory } from './oidc/account-sessions.js';

export interface ServiceDeps {
  config: Readonly<Config>;
  db: Database;
  logger: Logger;
  clock: Clock;
  /** Tracing on (observability/tracing.ts): password hashing and verification become spans. */
  trace?: Trace;
}

/**
 * How many passwords one process hashes at once, each on a thread of its own: the CPUs this process
 * may run on shared among the WORKERS processes, at least one. More threads than that only queue on
 * the same cores and hold argon2id's 19 MiB and a thread's own isolate (~15 MB) each: on one core,
 * one thread checked as many sign-ins per second as two, at 20-45 MB less resident memory at the
 * peak of a flood (docs/architecture.md, "Memory").
 */
export function hashingThreads(workers: number, cpus = availableParallelism()): number {
  return Math.max(1, Math.ceil(cpus / Math.max(1, workers)));
}

/**
 * The use-case services over the database, built once; shared by the HTTP app (app.ts) and the CLI
 * (which needs no HTTP). No logic here, only wiring.
 */
export function buildServices({ config, db, logger, clock, trace }: ServiceDeps) {
  const auditStore = createPrismaAuditStore(db.prisma);
  const audit = createAuditLog(auditStore, logger, clock);
  const users = createPrismaUserRepository(db.prisma, db.kind);
  const oidcStore = createPrismaOidcStore(db.prisma, clock);
  const hasher = createPasswordHasher({ concurrency: hashingThreads(config.workers), trace });
  const oneTimeTokens = createPrismaOneTimeTokenStore(db.prisma);
  const mailer = createMailer(config, logger, clock);
  // Templates and words, compiled once: pages (http/) and mails (the use cases below) share them.
  const presentation = createPresentation({
    templatesDir: config.templatesDir,
    defaultLocale: config.defaultLocale,
    brand: brandOf(config),
    onOverrideError: (template, err) => logger.error({ template, error: String((err as Error)?.message ?? err).slice(0, 300) }, 'TEMPLATES_DIR template failed; the built-in one was used'),
  });
  const background = createBackgroundTasks((task, err) => logger.error({ err, task }, 'background task failed'));
  // Bans are read on every guarded request; a new one reaches every instance within two seconds.
  const ipBans = cachedIpBans(createPrismaIpBanRepository(db.prisma), 2000, clock);
  const attempts = createPrismaAttemptStore(db.prisma);
  const guard = createLoginGuard({ store: attempts, bans: ipBans, clock, settings: config.guard });
  const mfa = createPrismaMfaStore(db.prisma);
  const passkeys = createPrismaPasskeyStore(db.prisma);
  const accounts: AccountDeps = {
    users,
    hasher,
    tokens: oneTimeTokens,
    mailer,
    mails: mailWriterOf(presentation),
    background,
    audit,
    clock,
    atomically: db.atomically,
    issuer: config.issuer,
    revokeSessions: (userId) => oidcStore.revokeByAccountId(userId),
    unlockLogin: (email) => guard.unlock(email),
    removePasskeys: (userId) => resetPasskeys({ store: passkeys }, userId),
    removeSecondFactors: async (userId) => {
      await mfa.deleteTotp(userId);
      await mfa.deleteRecoveryCodes(userId);
    },
  };
  // Second factors (accounts/mfa/): the TOTP secrets sealed with a key derived from SECRETS.
  const secondFactors: SecondFactorDeps = {
    mfa,
    guard,
    secrets: config.secrets ?? [],
    clock,
    audit,
    mailer,
    mails: accounts.mails,
    background,
    issuer: config.issuer,
    productName: config.productName,
    passkeys,
    atomically: db.atomically,
  };
  return {
    users,
    secondFactors,
    clients: createPrismaClientRepository(db.prisma, db.kind),
    resources: createPrismaResourceRepository(db.prisma),
    oidcStore,
    /** The account page's view of an account's sessions and grants. */
    sessions: createSessionDirectory(oidcStore),
    rotations: createPrismaRefreshRotationStore(db.prisma, clock),
    revocations: createPrismaRevocationStore(db.prisma),
    oneTimeTokens,
    /** WebAuthn credentials and their pending challenges (accounts/passkeys/). */
    passkeys,
    auditStore,
    audit,
    hasher,
    mailer,
    background,
    accounts,
    presentation,
    guard,
    attempts,
    ipBans,
    clock,
    atomically: db.atomically,
    config,
  };
}

export type Services = ReturnType<typeof buildServices>;
