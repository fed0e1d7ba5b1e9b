import { loadConfig } from './config/load-config.js';
import { resolveSecrets } from './config/secrets-file.js';
import { exitOnUnsupportedRuntime } from './config/runtime.js';
import { ConfigError } from './errors.js';
import { systemClock } from './lib/clock.js';
import { createLogger } from './observability/logger.js';
import { startTracing } from './observability/tracing.js';
import { openDatabase } from './persistence/database.js';
import { migrate } from './persistence/migrate.js';

/** How long in-flight requests get to finish after SIGTERM before the process gives up on them. */
const DRAIN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  exitOnUnsupportedRuntime();
  let config;
  try {
    config = await resolveSecrets(loadConfig(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);

  const report = await migrate(config.databaseKind, config.databaseUrl);
  if (report.applied.length > 0) logger.info({ applied: report.applied }, 'database migrated');
  if (report.modified.length > 0) logger.warn({ modified: report.modified }, 'applied migrations changed since they ran');
  if (report.unknown.length > 0) logger.warn({ unknown: report.unknown }, 'database has migrations this version does not know');

  // Before the database and the app, which take its `trace` (none when tracing is off: nothing is wrapped).
  const tracing = await startTracing({ endpoint: config.otelEndpoint, serviceName: config.otelServiceName }, logger);
  const trace = tracing?.trace;
  const db = await openDatabase({ databaseUrl: config.databaseUrl, databaseKind: config.databaseKind, logger, trace });
  // Loaded after the configuration is known good, so a bad environment fails fast and quietly.
  const { buildApp } = await import('./app.js');
  const { app, keys } = await buildApp({ config, db, logger, clock: systemClock, trace });
  // SIGHUP: re-read the keyring now (after `gatehouse keys rotate` on another machine, say).
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: re-reading the keyring');
    void keys.reload();
  });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping: draining in-flight requests');
    const timer = setTimeout(() => {
      logger.error('drain timed out; exiting');
      process.exit(1);
    }, DRAIN_TIMEOUT_MS).unref();
    try {
      await app.close();
      await db.close();
      // The spans of the last requests are still in the batch: send them before exiting.
      await tracing?.shutdown();
      clearTimeout(timer);
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error while stopping');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({
    port: config.port,
    host: config.host,
    listenTextResolver: (addr) => `gatehouse listening on ${addr} (issuer ${config.issuer}, database ${config.databaseKind})`,
  });
}

main().catch((err) => {
  // Before the logger exists (or if it failed), say what happened in one line.
  process.stderr.write(`gatehouse: failed to start: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(2);
});
