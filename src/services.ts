import { createPasswordHasher } from './accounts/password-hasher.js';
import type { Config } from './config/schema.js';
import type { Clock } from './lib/clock.js';
import { createAuditLog } from './observability/audit.js';
import type { Logger } from './observability/logger.js';
import type { Database } from './persistence/database.js';
import { createPrismaAuditStore } from './persistence/prisma-audit.js';
import { createPrismaClientRepository, createPrismaResourceRepository } from './persistence/prisma-clients.js';
import { createPrismaOidcStore } from './persistence/prisma-oidc-store.js';
import { createPrismaRefreshRotationStore } from './persistence/prisma-refresh-rotations.js';
import { createPrismaUserRepository } from './persistence/prisma-users.js';

export interface ServiceDeps {
  config: Readonly<Config>;
  db: Database;
  logger: Logger;
  clock: Clock;
}

/**
 * The use-case services over the database, built once; shared by the HTTP app (app.ts) and the CLI
 * (which needs no HTTP). No logic here, only wiring.
 */
export function buildServices({ config, db, logger, clock }: ServiceDeps) {
  const auditStore = createPrismaAuditStore(db.prisma);
  return {
    users: createPrismaUserRepository(db.prisma),
    clients: createPrismaClientRepository(db.prisma),
    resources: createPrismaResourceRepository(db.prisma),
    oidcStore: createPrismaOidcStore(db.prisma, clock),
    rotations: createPrismaRefreshRotationStore(db.prisma),
    auditStore,
    audit: createAuditLog(auditStore, logger, clock),
    hasher: createPasswordHasher({ concurrency: 2 }),
    clock,
    config,
  };
}

export type Services = ReturnType<typeof buildServices>;
