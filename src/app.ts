import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import { sendErrorPage, errorHandlerPlugin } from './http/plugins/error-handler.js';
import { ipBanPlugin } from './http/plugins/ip-ban.js';
import { adminRoutes } from './http/routes/admin.js';
import { ensureAdminResource } from './admin/admin-resource.js';
import { cachedResources } from './admin/cached-resources.js';
import { createOwnTokenVerifier } from './keys/own-token-verifier.js';
import { oidcMount } from './http/plugins/oidc-mount.js';
import { pageHeadersPlugin } from './http/plugins/page-headers.js';
import { REQUEST_ID_HEADER, requestId } from './http/request-id.js';
import { requestLogPlugin } from './http/plugins/request-log.js';
import { strictInput } from './http/plugins/strict-input.js';
import { tracingPlugin } from './http/plugins/tracing.js';
import { accountRoutes } from './http/routes/account.js';
import { assetRoutes } from './http/routes/assets.js';
import { healthRoutes } from './http/routes/health.js';
import { interactionRoutes } from './http/routes/interaction.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { protocolPages } from './http/views/protocol-pages.js';
import { clientMetadata } from './oidc/adapter.js';
import { rotationTiming } from './admin/keys.js';
import type { Keyring } from './keys/keyring-files.js';
import { rotateIfDue } from './keys/keyring-ops.js';
import { watchKeyring, type KeyringWatcher } from './keys/keyring-watcher.js';
import { createKeyStateProbe } from './keys/key-state-probe.js';
import { loadOrCreateKeyring } from './keys/load-keyring.js';
import { providerJwks } from './keys/provider-jwks.js';
import { jwksMaxAge } from './keys/rotation.js';
import { keyState, nextChangeAt, signingKey, SIGNING_ALGS } from './keys/schedule.js';
import type { Clock } from './lib/clock.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Logger } from './observability/logger.js';
import type { Trace } from './observability/tracing.js';
import { createProvider } from './oidc/create-provider.js';
import { createInteractions } from './oidc/interactions.js';
import { createProviderHost, type ProviderHost } from './oidc/provider-host.js';
import type { Database } from './persistence/database.js';
import { buildServices, type Services } from './services.js';

export interface AppDependencies {
  config: Readonly<Config>;
  db: Database;
  logger: Logger;
  clock: Clock;
  /** Tracing on (observability/tracing.ts): request spans here, password spans in the services. */
  trace?: Trace;
}

export interface Gatehouse {
  app: FastifyInstance;
  services: Services;
  providers: ProviderHost;
  metrics: Metrics;
  /** The keyring watcher: `reload()` on SIGHUP. */
  keys: KeyringWatcher;
}

/** Largest request body fastify parses (forms and JSON are small; a 1 MB body is an attack). */
const BODY_LIMIT = 64 * 1024;
/** Largest form a page posts (an email and a password fit many times over). */
const FORM_LIMIT = 16 * 1024;

/**
 * The composition root: builds every service once and registers the HTTP plugins. No logic here.
 */
export async function buildApp(deps: AppDependencies): Promise<Gatehouse> {
  const { config, db, logger, clock } = deps;
  if (!config.secrets || config.secrets.length === 0) throw new Error('buildApp needs resolved SECRETS (resolveSecrets)');
  const secrets = config.secrets;
  const services = buildServices(deps);
  const metrics = createMetrics({
    bans: async () => ({ users: await services.users.countByStatus('banned'), ips: (await services.ipBans.active(clock.now())).length }),
    mail: () => services.mailer.deliveries(),
  });

  const initial = await loadOrCreateKeyring(config.keysDir, clock);
  if (initial.created) {
    await services.audit.record({ type: 'keys.created', detail: { kids: initial.manifest.keys.map((k) => k.kid) } });
  }
  let keyring: Keyring = initial;
  // Our own token checks re-read the manifest, so a revocation by the CLI counts at once; seeing it
  // also reloads this instance's key set, so it stops signing with the revoked key now.
  const keyStates = createKeyStateProbe({ dir: config.keysDir, clock, initial: initial.manifest.keys, onChange: () => keys.reload() });
  // Recomputed whenever the keyring changes (the watcher fires at every scheduled change too).
  let nextKeyChange = nextChangeAt(initial.manifest.keys, clock.now());
  const apiCache = cachedResources(services.resources, 5000);
  const buildProvider = (ring: Keyring) =>
    createProvider({
      config,
      jwks: providerJwks(ring, clock.now()),
      clientAuthFailed: (clientId, ip) => services.guard.clientFailed(clientId, ip),
      jwksCacheSeconds: () => jwksMaxAge(clock.now(), config.keyPrepublish, nextKeyChange),
      keyUsable: (kid) => keyStates.keyUsable(kid),
      userCodes: {
        admit: async (ip) => {
          const d = await services.guard.admitUserCode(ip);
          return d.ok ? d : { ok: false, retryAfter: d.refusal.retryAfter, started: d.refusal.started, banned: d.refusal.reason === 'ip_banned' };
        },
        settle: (ip) => services.guard.userCodeRight(ip),
      },
      oidcStore: services.oidcStore,
      clientMetadata: async (id) => {
        const client = await services.clients.findById(id);
        return client ? clientMetadata(client) : undefined;
      },
      resources: apiCache,
      users: services.users,
      pages: protocolPages,
      rotations: services.rotations,
      audit: services.audit,
      metrics,
      clock,
      logger,
    });
  const providers = createProviderHost(buildProvider(initial));
  const interactions = createInteractions(providers);
  const recordKeyMetrics = (ring: Keyring) => {
    const now = clock.now();
    metrics.keys.reset();
    metrics.activeKey.reset();
    for (const entry of ring.manifest.keys) metrics.keys.inc({ alg: entry.alg, state: keyState(entry, now) });
    for (const alg of SIGNING_ALGS) {
      const active = signingKey(ring.manifest.keys, alg, now);
      if (active) metrics.activeKey.set({ alg, kid: active.kid }, 1);
    }
    metrics.nextKeyChange.set((nextChangeAt(ring.manifest.keys, now)?.getTime() ?? 0) / 1000);
  };
  recordKeyMetrics(initial);

  // Hot reload: a changed folder, a SIGHUP, or a scheduled state change builds a new engine with the
  // new key set and swaps it in; requests already inside the old engine finish there.
  const keys = watchKeyring({
    dir: config.keysDir,
    clock,
    intervalMs: config.keyReloadInterval * 1000,
    initial,
    beforeRead: config.keyRotationInterval
      ? async () => {
          const rotated = await rotateIfDue(config.keysDir, clock, await rotationTiming(services, false), config.keyRotationInterval!);
          if (rotated) await services.audit.record({ type: 'keys.rotated', detail: { added: rotated.added, automatic: true } });
        }
      : undefined,
    onChange: (ring) => {
      keyring = ring;
      nextKeyChange = nextChangeAt(ring.manifest.keys, clock.now());
      providers.swap(buildProvider(ring));
      recordKeyMetrics(ring);
      const now = clock.now();
      logger.info(
        { keys: ring.manifest.keys.map((e) => ({ kid: e.kid, alg: e.alg, state: keyState(e, now) })) },
        'keyring reloaded; new key set in use',
      );
    },
    onError: (err) => logger.error({ err: { message: err.message } }, 'keyring not reloaded: keeping the last good key set'),
  });

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One access-log line per request comes from requestLogPlugin instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // X-Request-Id in (when acceptable) and out; the id is in every log line of the request.
    requestIdHeader: false,
    genReqId: (request) => requestId(request.headers[REQUEST_ID_HEADER]),
    bodyLimit: BODY_LIMIT,
    // Client IPs come from the socket unless TRUST_PROXY names the proxies (docs/security.md, ASVS 4.1.3).
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
    // A client that sends its headers or body a byte at a time must not hold a socket for ever: Node
    // answers 408 and closes once headersTimeout / requestTimeout pass (checked every second, not
    // every 30 s as by default); an idle keep-alive socket closes after keepAliveTimeout; a socket
    // that stops moving while we write closes after connectionTimeout.
    requestTimeout: config.httpRequestTimeout * 1000,
    connectionTimeout: config.httpRequestTimeout * 1000,
    keepAliveTimeout: config.httpKeepAliveTimeout * 1000,
    http: {
      requestTimeout: config.httpRequestTimeout * 1000,
      headersTimeout: config.httpHeadersTimeout * 1000,
      connectionsCheckingInterval: 1000,
    },
  });
  // Beyond this many open sockets, new ones are closed on arrival (slow clients cannot exhaust file
  // descriptors and memory).
  app.server.maxConnections = config.httpMaxConnections;

  // First of all: the request span must exist before any hook or route is added (it wraps them).
  if (deps.trace) await app.register(await tracingPlugin());
  // Cookie parsing and serialising only; our cookies are signed by their own code (device, CSRF) or
  // by oidc-provider (sessions, interactions).
  await app.register(cookie);
  await app.register(errorHandlerPlugin);
  await app.register(requestLogPlugin, { metrics });
  await app.register(pageHeadersPlugin);
  await app.register(ipBanPlugin, { guard: services.guard });
  await app.register(
    healthRoutes([
      { name: 'database', check: () => db.ping() },
      {
        name: 'keys',
        check: async () => {
          const missing = SIGNING_ALGS.filter((alg) => !signingKey(keyring.manifest.keys, alg, clock.now()));
          if (missing.length > 0) throw new Error(`no active signing key for ${missing.join(', ')}`);
        },
      },
      // A keyring on disk refused at reload: still serving, on the last good key set.
      { name: 'keyring', check: async () => keys.problem() && `last good key set in use; refused ${keys.problem()}` },
    ]),
  );
  await app.register(metricsRoutes(metrics, config.metricsToken));
  await app.register(assetRoutes);
  const secureCookies = config.issuer.startsWith('https:');
  await app.register(async (pages) => {
    await pages.register(strictInput, { jsonLimit: BODY_LIMIT, formLimit: FORM_LIMIT });
    pages.setErrorHandler((error, request, reply) => sendErrorPage(request, reply, error));
    await pages.register(
      interactionRoutes({
        interactions,
        accounts: services.accounts,
        login: {
          users: services.users,
          hasher: services.hasher,
          clock,
          requireEmailVerification: config.requireEmailVerification,
          guard: services.guard,
          settings: config.guard,
          audit: services.audit,
          mailer: services.mailer,
          background: services.background,
          issuer: config.issuer,
        },
        limits: { guard: services.guard, audit: services.audit, metrics },
        audit: services.audit,
        metrics,
        secrets,
        secureCookies,
      }),
    );
  });
  await app.register(async (account) => {
    await account.register(strictInput, { jsonLimit: BODY_LIMIT, formLimit: FORM_LIMIT });
    await account.register(accountRoutes({ accounts: services.accounts, limits: { guard: services.guard, audit: services.audit, metrics }, metrics, secrets, secureCookies }));
  });
  await ensureAdminResource(services.resources, config.issuer, clock);
  const verifyOwnToken = createOwnTokenVerifier(config.issuer, () => keyring, () => clock.now(), (kid) => keyStates.keyUsable(kid));
  await app.register(async (admin) => {
    await admin.register(strictInput, { jsonLimit: BODY_LIMIT, formLimit: FORM_LIMIT });
    await admin.register(adminRoutes({ services, issuer: config.issuer, verifyOwnToken, reloadKeys: () => keys.reload() }));
  });
  await app.register(oidcMount(providers, { issuer: config.issuer }));

  // Expired codes, tokens, sessions and rotation records are deleted on a timer (every instance
  // sweeps; the deletes are idempotent).
  const sweep = async () => {
    try {
      const [payloads, rotations, oneTimeTokens] = await Promise.all([
        services.oidcStore.sweepExpired(),
        services.rotations.sweepExpired(clock.now()),
        services.oneTimeTokens.sweepExpired(clock.now()),
      ]);
      // Counters untouched for longer than any window, wait or lock they could hold are dead weight.
      const idle = Math.max(7 * 86400, config.guard.ipWindow, config.guard.ipBlock, config.guard.maxDelay, config.guard.maxLock) * 1000;
      const counters = await services.attempts.sweep(clock.now().getTime() - idle);
      if (payloads + rotations + oneTimeTokens + counters > 0) logger.debug({ payloads, rotations, oneTimeTokens, counters }, 'swept expired rows');
    } catch (err) {
      logger.warn({ err }, 'sweep failed; will retry');
    }
  };
  const timer = setInterval(() => void sweep(), config.sweepInterval * 1000);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    keys.stop();
    // Mail already promised to someone is sent before the database closes.
    await services.background.idle();
    services.mailer.close();
  });

  return { app, services, providers, metrics, keys };
}
