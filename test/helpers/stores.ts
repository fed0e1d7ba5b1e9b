import type { Test } from 'tap';
import type { Clock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openDatabase, type Database } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { buildServices, type Services } from '../../src/services.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { createTestDatabase } from './databases.ts';

export type StoreKind = 'memory' | 'sqlite' | 'postgres';
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'sqlite', 'postgres'];

/** Prisma-backed services on a fresh, migrated database of the given kind. */
export async function databaseServices(t: Test, kind: 'sqlite' | 'postgres', clock: Clock): Promise<Services & { database: Database }> {
  const db = await createTestDatabase(t, kind);
  await migrate(kind, db.url);
  const logger = createLogger('silent');
  const database = await openDatabase({ databaseUrl: db.url, databaseKind: kind, logger });
  t.teardown(() => database.close());
  const config = loadConfig({ DATABASE_URL: db.url, SECRETS: 'x'.repeat(32) });
  return { ...buildServices({ config, db: database, logger, clock }), database };
}
