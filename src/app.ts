import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './observability/logger.js';
import type { Database } from './persistence/database.js';
import { errorHandlerPlugin } from './http/plugins/error-handler.js';
import { requestLogPlugin } from './http/plugins/request-log.js';
import { healthRoutes } from './http/routes/health.js';

export interface AppDependencies {
  config: Readonly<Config>;
  db: Database;
  logger: Logger;
  clock: Clock;
}

/** Largest request body accepted anywhere (forms and JSON are small; a 1 MB body is an attack). */
const BODY_LIMIT = 64 * 1024;

/**
 * The composition root: builds every service once and registers the HTTP plugins. No logic here.
 */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, db, logger } = deps;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One access-log line per request comes from requestLogPlugin instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Client IPs come from the socket unless TRUST_PROXY names the proxies (SECURITY.md, ASVS 4.1.3).
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
  });

  await app.register(errorHandlerPlugin);
  await app.register(requestLogPlugin);
  await app.register(
    healthRoutes([{ name: 'database', check: () => db.ping() }]),
  );
  return app;
}
