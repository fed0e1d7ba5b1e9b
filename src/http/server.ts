import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import { secondFactorStatus } from '../accounts/mfa/second-factors.js';
import { ensureAdminResource } from '../admin/admin-resource.js';
import type { KeyRuntime } from '../keys/key-runtime.js';
import { createOwnTokenVerifier } from '../keys/own-token-verifier.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Trace } from '../observability/tracing.js';
import type { Engine } from '../oidc/engine.js';
import type { Services } from '../services.js';
import { errorHandlerPlugin, sendErrorPage } from './plugins/error-handler.js';
import { ipBanPlugin } from './plugins/ip-ban.js';
import { oidcMount } from './plugins/oidc-mount.js';
import { pageHeadersPlugin } from './plugins/page-headers.js';
import { brandOf } from '../rendering/presentation.js';
import { requestLogPlugin } from './plugins/request-log.js';
import { strictInput } from './plugins/strict-input.js';
import { tracingPlugin } from './plugins/tracing.js';
import { REQUEST_ID_HEADER, requestId } from './request-id.js';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID } from '../oidc/account-sessions.js';
import { accountRoutes } from './routes/account.js';
import { accountMfaRoutes } from './routes/account-mfa.js';
import { accountCsrfKey, accountPageRoutes } from './routes/account-page.js';
import { adminRoutes } from './routes/admin.js';
import { assetRoutes } from './routes/assets.js';
import { healthRoutes, readinessChecks } from './routes/health.js';
import { interactionRoutes } from './routes/interaction.js';
import { metricsRoutes } from './routes/metrics.js';
import { passkeyAccountRoutes, passkeySignInRoutes } from './routes/passkeys.js';
import { passkeyDeps } from './passkey-wiring.js';
import { revocationFeedRoutes } from './routes/revocation-feed.js';
import { createRevocationFeed } from '../revocation/feed.js';
import { feedRetention } from '../revocation/retention.js';
import { signingKey } from '../keys/schedule.js';
import { lazyCompilersFactory } from './lazy-schema-compilers.js';

/** Largest request body fastify parses (forms and JSON are small; a 1 MB body is an attack). */
const BODY_LIMIT = 64 * 1024;
/** Largest form a page posts (an email and a password fit many times over). */
const FORM_LIMIT = 16 * 1024;

/** The fastify instance with the limits that keep slow or greedy clients from holding it. */
export function createHttpServer(config: Readonly<Config>, logger: Logger): FastifyInstance {
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
    // Each route's schemas are compiled on its first request, not at start.
    schemaController: { compilersFactory: lazyCompilersFactory() },
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
  return app;
}

export interface SurfaceDeps {
  config: Readonly<Config>;
  database: { ping(): Promise<unknown> };
  services: Services;
  keys: KeyRuntime;
  engine: Engine;
  metrics: Metrics;
  clock: Clock;
  trace?: Trace;
}

/**
 * Everything the server answers: health and metrics, the sign-in pages, the account API, the admin
 * API and, last, the protocol engine. Pages answer errors as pages; the APIs as JSON.
 */
export async function registerSurfaces(app: FastifyInstance, deps: SurfaceDeps): Promise<void> {
  const { config, services, keys, engine, metrics, clock } = deps;
  const secrets = config.secrets!;
  const secureCookies = config.issuer.startsWith('https:');
  const limits = { guard: services.guard, audit: services.audit, metrics };
  const apiWords = async (audience: string) => {
    const api = await services.resources.find(audience);
    return api ? { description: api.description, scopeDescriptions: api.scopeDescriptions } : undefined;
  };
  const loginDeps = {
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
    mails: services.accounts.mails,
  };

  // First of all: the request span must exist before any hook or route is added (it wraps them).
  if (deps.trace) await app.register(await tracingPlugin());
  // Cookies: the device cookie is signed here with SECRETS (the first signs, every one verifies);
  // the engine signs its own (sessions, interactions); CSRF tokens are HMACs of the interaction.
  await app.register(cookie, { secret: [...secrets] });
  await app.register(errorHandlerPlugin);
  await app.register(requestLogPlugin, { metrics });
  await app.register(pageHeadersPlugin, { brand: brandOf(config), presentation: services.presentation });
  await app.register(ipBanPlugin, { guard: services.guard });
  await app.register(healthRoutes(readinessChecks({ database: deps.database, keys })));
  await app.register(metricsRoutes(metrics, config.metricsToken));
  await app.register(assetRoutes({ accentColor: config.accentColor }));
  await app.register(revocationFeedRoutes(revocationFeed(deps)));
  await app.register(async (pages) => {
    await pages.register(strictInput, { jsonLimit: BODY_LIMIT, formLimit: FORM_LIMIT });
    pages.setErrorHandler((error, request, reply) => sendErrorPage(request, reply, error));
    await pages.register(
      interactionRoutes({
        interactions: engine.interactions,
        accounts: services.accounts,
        login: loginDeps,
        limits,
        audit: services.audit,
        metrics,
        secrets,
        secureCookies,
        apiWords,
        secondFactors: services.secondFactors,
        requireMfa: config.requireMfa,
        passkeys: passkeyDeps(config, services),
      }),
    );
    await pages.register(passkeySignInRoutes({ interactions: engine.interactions, passkeys: passkeyDeps(config, services), metrics, secrets, secureCookies }));
  });
  await app.register(async (account) => {
    await account.register(strictInput, { jsonLimit: BODY_LIMIT, formLimit: FORM_LIMIT });
    await account.register(accountRoutes({ accounts: services.accounts, limits, metrics, secrets, secureCookies }));
    await account.register(
      accountPageRoutes({
        selfService: { ...services.accounts, login: loginDeps, sessions: services.sessions },
        currentSession: (request, reply) => engine.currentSession(request.raw, reply.raw),
        signInUrl: (state, challenge) =>
          `${config.issuer}/auth?${new URLSearchParams({
            client_id: ACCOUNT_CLIENT_ID,
            response_type: 'code',
            scope: 'openid',
            redirect_uri: `${config.issuer}${ACCOUNT_CALLBACK_PATH}`,
            state,
            code_challenge: challenge,
            code_challenge_method: 'S256',
          })}`,
        clientName: async (id) => (await services.clients.findById(id))?.name ?? id,
        apiWords,
        secrets,
        secureCookies,
        metrics,
        passkeys: (userId) => services.passkeys.listByUser(userId),
        secondFactors: (userId) => secondFactorStatus(services.secondFactors, userId),
      }),
    );
    await account.register(
      accountMfaRoutes({
        selfService: { ...services.accounts, login: loginDeps, sessions: services.sessions },
        secondFactors: services.secondFactors,
        requireMfa: config.requireMfa,
        currentSession: (request, reply) => engine.currentSession(request.raw, reply.raw),
        secrets,
        secureCookies,
      }),
    );
    await account.register(
      passkeyAccountRoutes({ passkeys: passkeyDeps(config, services), currentSession: (request, reply) => engine.currentSession(request.raw, reply.raw), csrfKey: accountCsrfKey, secrets }),
    );
  });
  await ensureAdminResource(services.resources, config.issuer, clock);
  const verifyOwnToken = createOwnTokenVerifier(config.issuer, () => keys.current(), () => clock.now(), (kid) => keys.keyUsable(kid));
  await app.register(async (admin) => {
    await admin.register(strictInput, { jsonLimit: BODY_LIMIT, formLimit: FORM_LIMIT });
    await admin.register(adminRoutes({ services, issuer: config.issuer, verifyOwnToken, reloadKeys: () => keys.reload() }));
  });
  await app.register(oidcMount(engine.providers, { issuer: config.issuer, jwksCacheControl: engine.jwksCacheControl }));
}

/** The revocation feed, read from the database and signed with the current ES256 key. */
function revocationFeed({ config, services, keys, metrics, clock }: SurfaceDeps) {
  return createRevocationFeed({
    issuer: config.issuer,
    store: services.revocations,
    clock,
    retentionSeconds: feedRetention({ accessTokenTtl: config.accessTokenTtl, clockSkew: config.clockSkew, resources: services.resources, clock }),
    signingKey: () => {
      const ring = keys.current();
      const entry = signingKey(ring.manifest.keys, 'ES256', clock.now());
      const jwk = entry && ring.keys.get(entry.kid);
      return entry && jwk ? { kid: entry.kid, jwk: jwk as never } : undefined;
    },
    built: (sizes) => {
      for (const [kind, n] of Object.entries(sizes)) metrics.revocationFeedEntries.set({ kind }, n);
    },
  });
}
