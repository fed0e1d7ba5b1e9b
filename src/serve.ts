import { clusterMetrics, isWorker, runPrimary, stopWhenOrphaned } from './cluster.js';
import { loadConfig } from './config/load-config.js';
import { collectStartGarbage, flushCompileCache, limitHeapGrowth } from './config/runtime.js';
import { resolveSecrets } from './config/secrets-file.js';
import { ConfigError } from './errors.js';
import { assertPresentation } from './rendering/presentation.js';
import { systemClock } from './lib/clock.js';
import { createLogger } from './observability/logger.js';
import { startTracing } from './observability/tracing.js';
import { openDatabase } from './persistence/database.js';
import { migrate } from './persistence/migrate.js';

/** Set by the primary for the first worker when it created the keyring (cluster.ts). */
const KEYRING_CREATED_VARIABLE = 'GATEHOUSE_KEYRING_CREATED';

/** How long in-flight requests get to finish after SIGTERM before the process gives up on them. */
const DRAIN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  // A worker whose primary is killed stops: at once while starting, draining once it serves.
  let orphaned: () => void = () => process.exit(1);
  if (isWorker()) stopWhenOrphaned(() => orphaned);
  let config;
  try {
    config = await resolveSecrets(loadConfig(process.env));
    assertPresentation(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const clustered = config.workers > 1;
  const worker = clustered && isWorker();

  // With WORKERS > 1 the primary migrates once, before any worker starts.
  if (!worker) {
    const report = await migrate(config.databaseKind, config.databaseUrl);
    if (report.applied.length > 0) logger.info({ applied: report.applied }, 'database migrated');
    if (report.modified.length > 0) logger.warn({ modified: report.modified }, 'applied migrations changed since they ran');
    if (report.unknown.length > 0) logger.warn({ unknown: report.unknown }, 'database has migrations this version does not know');
  }
  if (clustered && !worker) {
    // Created here, once: workers starting together on an empty folder would each see the other's
    // half-written keyring. The first worker records it in the audit log.
    const { loadOrCreateKeyring } = await import('./keys/load-keyring.js');
    const ring = await loadOrCreateKeyring(config.keysDir, systemClock);
    const where = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    await runPrimary({
      workers: config.workers,
      logger,
      listening: `gatehouse listening on ${where} (issuer ${config.issuer}, database ${config.databaseKind})`,
      firstWorkerEnv: ring.created ? { [KEYRING_CREATED_VARIABLE]: '1' } : undefined,
    });
    return;
  }

  // Before the database and the app, which take its `trace` (none when tracing is off: nothing is wrapped).
  const tracing = await startTracing({ endpoint: config.otelEndpoint, serviceName: config.otelServiceName }, logger);
  const trace = tracing?.trace;
  const db = await openDatabase({ databaseUrl: config.databaseUrl, databaseKind: config.databaseKind, logger, trace });
  // Loaded after the configuration is known good, so a bad environment fails fast and quietly.
  const { buildApp } = await import('./app.js');
  const keyringCreated = worker && process.env[KEYRING_CREATED_VARIABLE] === '1';
  const { app, keys, metrics } = await buildApp({ config, db, logger, clock: systemClock, trace, keyringCreated });
  // One /metrics view over every worker (cluster.ts).
  if (worker) metrics.render = await clusterMetrics(metrics.registry);
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
  // A worker leaves Ctrl-C (sent to the whole process group) to the primary, which stops it with SIGTERM.
  process.on('SIGINT', () => void (worker ? undefined : stop('SIGINT')));
  orphaned = () => void stop('SIGTERM');

  await app.listen({
    port: config.port,
    host: config.host,
    // With workers, the primary says it once for all of them.
    listenTextResolver: (addr) => `${worker ? 'worker ' : 'gatehouse '}listening on ${addr} (issuer ${config.issuer}, database ${config.databaseKind})`,
  });
  flushCompileCache();
  collectStartGarbage();
  // Once listening, not before: at the start the heap grows from nothing to its working size, and
  // collecting at every 50 % of growth would cost the start about a quarter more CPU.
  limitHeapGrowth();
}

main().catch((err) => {
  // Before the logger exists (or if it failed), say what happened in one line.
  process.stderr.write(`gatehouse: failed to start: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(2);
});
