import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import { createHttpServer, registerSurfaces } from './http/server.js';
import { startKeyRuntime, type KeyRuntime } from './keys/key-runtime.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './observability/logger.js';
import type { Trace } from './observability/tracing.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createEngine } from './oidc/engine.js';
import type { ProviderHost } from './oidc/provider-host.js';
import { createProtocolPages } from './http/views/protocol-pages.js';
import type { Database } from './persistence/database.js';
import { startSweeper } from './persistence/sweeper.js';
import { buildServices, type Services } from './services.js';

export interface AppDependencies {
  config: Readonly<Config>;
  db: Database;
  logger: Logger;
  clock: Clock;
  /** Tracing on (observability/tracing.ts): request spans here, password spans in the services. */
  trace?: Trace;
  /** The primary process (WORKERS > 1) created the keyring for this start; this worker audits it. */
  keyringCreated?: boolean;
}

export interface Gatehouse {
  app: FastifyInstance;
  services: Services;
  providers: ProviderHost;
  metrics: Metrics;
  /** The live signing keys: `reload()` on SIGHUP. */
  keys: KeyRuntime;
}

/** The composition root: each part built once, in order, and handed what it needs. No logic here. */
export async function buildApp(deps: AppDependencies): Promise<Gatehouse> {
  const { config, db, logger, clock } = deps;
  if (!config.secrets || config.secrets.length === 0) throw new Error('buildApp needs resolved SECRETS (resolveSecrets)');
  const services = buildServices(deps);
  const metrics = createMetrics({
    bans: async () => ({ users: await services.users.countByStatus('banned'), ips: (await services.ipBans.active(clock.now())).length }),
    mail: () => services.mailer.deliveries(),
  });
  const keys = await startKeyRuntime({ config, clock, resources: services.resources, audit: services.audit, metrics, logger, keyringCreated: deps.keyringCreated });
  const engine = createEngine({ config, services, keys, pages: createProtocolPages(services.presentation), metrics, clock, logger });
  const app = createHttpServer(config, logger);
  await registerSurfaces(app, { config, database: db, services, keys, engine, metrics, clock, trace: deps.trace });
  const sweeper = startSweeper({ stores: services, config, clock, logger });
  app.addHook('onClose', async () => {
    sweeper.stop();
    keys.stop();
    await services.background.idle(); // mail already promised is sent before the database closes
    services.mailer.close();
    await services.hasher.close();
  });
  return { app, services, providers: engine.providers, metrics, keys };
}
