import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { buildApp, type Gatehouse } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Config, DatabaseKind } from '../../src/config/schema.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { openDatabase, type Database } from '../../src/persistence/database.ts';
import { migrate } from '../../src/persistence/migrate.ts';
import { createTestDatabase } from './databases.ts';
import { seedKeyring } from './keys.ts';
import { freePort } from './processes.ts';
import { tempDir } from './temp-dir.ts';

export interface TestApp extends Gatehouse {
  app: FastifyInstance;
  issuer: string;
  db: Database;
  config: Readonly<Config>;
  logger: Logger;
  logs: Record<string, unknown>[];
}

export interface TestAppOptions {
  /** Listen on a loopback port (the issuer is then http://127.0.0.1:<port>). */
  listen?: boolean;
  /** Start from an empty keys folder (first-start key generation) instead of the shared test keyring. */
  freshKeys?: boolean;
  /** Share this keys folder (already seeded) with another app. */
  keysDir?: string;
  kind?: DatabaseKind;
  /** Use this database instead of a fresh one (it is migrated all the same). */
  databaseUrl?: string;
  env?: Record<string, string>;
  clock?: Clock;
  /** The issuer's host name (default 127.0.0.1). WebAuthn needs a domain as RP ID, not an IP: `localhost`. */
  issuerHost?: string;
}

/** A migrated database and a built (not listening) app; everything is closed when the test ends. */
export async function buildTestApp(t: Test, options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.databaseUrl ? { url: options.databaseUrl } : await createTestDatabase(t, options.kind);
  const dir = await tempDir(t);
  if (!options.freshKeys && !options.keysDir) await seedKeyring(`${dir}/keys`);
  const port = options.listen ? await freePort() : 3000;
  const config = loadConfig(
    {
      PORT: String(port),
      ISSUER: `http://${options.issuerHost ?? '127.0.0.1'}:${port}`,
      DATA_DIR: dir,
      KEYS_DIR: options.keysDir ?? `${dir}/keys`,
      DATABASE_URL: database.url,
      SECRETS: 'test-secret-that-is-long-enough-to-pass-0001',
      LOG_LEVEL: 'info',
      ...options.env,
    },
    dir,
  );
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logs.push(JSON.parse(line)) });
  await migrate(config.databaseKind, config.databaseUrl);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, databaseKind: config.databaseKind, logger });
  const gatehouse = await buildApp({ config, db, logger, clock: options.clock ?? systemClock });
  t.teardown(async () => {
    await gatehouse.app.close();
    await db.close();
  });
  if (options.listen) await gatehouse.app.listen({ port, host: options.issuerHost === 'localhost' ? 'localhost' : '127.0.0.1' });
  return { ...gatehouse, db, config, logger, logs, issuer: config.issuer };
}
