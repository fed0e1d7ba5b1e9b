import { localeHints } from './pages.js';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import als from 'oidc-provider/lib/helpers/als.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { constantTimeEqual, sha256 } from '../lib/digest.js';
import { FORM_ACTION_SELF, formActionSource, widenFormAction } from '../lib/form-action.js';
import type { AuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import { grantLabel, oauthErrorLabel } from '../observability/metric-labels.js';
import type { Metrics } from '../observability/metrics.js';
import { PREVIOUS_SECRET_EXPIRES_PROPERTY, PREVIOUS_SECRET_PROPERTY } from './adapter.js';
import { buildConfiguration, type ConfigurationDeps } from './configuration.js';
import type { RefreshRotationStore } from './refresh-rotation-store.js';
import { withAtomicGrant } from './atomic-grant.js';
import { guarded, unavailableAnswers } from './engine-errors.js';
import { jwtIntrospection } from './jwt-introspection.js';
import { jwtRevocation } from './jwt-revocation.js';
import type { RevocationStore } from '../revocation/revocation-store.js';
import { withRefreshGrace } from './refresh-grace.js';
import { throttleUserCodes, type UserCodeGuard } from './user-code-throttle.js';
import { grantRevokedIn, markGrantRevoked } from './revoked-grants.js';

export interface ProviderDeps extends ConfigurationDeps {
  /** A client presented a wrong secret: count it; a refusal (429) once over the limit. */
  clientAuthFailed(clientId: string, ip: string): Promise<{ retryAfter: number } | undefined>;
  /** Seconds the JWKS may be cached by resource servers right now (see keys/rotation.ts jwksMaxAge). */
  jwksCacheSeconds(): number;
  /** Device user-code entry per IP (RFC 8628 §5.1). */
  userCodes: UserCodeGuard;
  /** The signing key `kid` is not revoked on disk right now (keys/key-state-probe.ts). */
  keyUsable(kid: string | undefined): Promise<boolean>;
  rotations: RefreshRotationStore;
  /** The revocation feed's entries: an access token revoked at the revocation endpoint goes there. */
  revocations: Pick<RevocationStore, 'record'>;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
}

/** The client fields compareClientSecret reads (extra metadata keeps its snake_case name). */
type RotatableClient = {
  clientSecret?: string;
  clientId: string;
  [PREVIOUS_SECRET_PROPERTY]?: string;
  [PREVIOUS_SECRET_EXPIRES_PROPERTY]?: number;
};

/** 429 for a client that keeps presenting wrong secrets (an OAuth-style error the engine renders). */
class TooManyFailures extends errors.OIDCProviderError {
  override error_description = 'too many failed client authentications; retry later';
  constructor() {
    super(429, 'too_many_requests');
  }
}

/** Security headers on everything the engine answers; set before it renders, so the form_post
 * page can add its script hash to the policy. */
const PAGE_CSP = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; ${FORM_ACTION_SELF}; frame-ancestors 'none'`;

/**
 * One configured oidc-provider instance. A new instance is built whenever the key set changes (there
 * is no API to change a running instance's keys); everything else it needs lives in the database,
 * so a login started on one instance finishes on the next.
 */
/** The audit event for a reused grant, by the grant type of the refused request. */
const REUSE_EVENTS: Record<string, 'refresh.reuse_detected' | 'authorization_code.reuse_detected'> = {
  refresh_token: 'refresh.reuse_detected',
  authorization_code: 'authorization_code.reuse_detected',
};

export function createProvider(deps: ProviderDeps): Provider {
  const { config, audit, metrics, logger } = deps;
  const provider = new Provider(config.issuer, buildConfiguration(deps));
  // The engine reads its origin and the client address from X-Forwarded-*, which the HTTP layer
  // (http/plugins/oidc-mount.ts) always sets itself: the issuer's host and protocol, and the client
  // IP as decided with TRUST_PROXY. Whatever a caller sent is dropped before.
  provider.proxy = true;

  // Client secrets are stored as SHA-256 (see admin/clients.ts): compare digests in constant time.
  // This is the extension point oidc-provider's author recommends for hashed secrets (issue #631).
  // A right secret costs one digest; a wrong one is counted per client and IP (guard/), and once
  // over the limit the answer is 429 with Retry-After instead of invalid_client.
  // After a rotation the replaced secret is accepted too, until its overlap ends by our clock.
  provider.Client.prototype.compareClientSecret = async function compareClientSecret(this: RotatableClient, actual: string) {
    const digest = sha256(actual);
    if (typeof this.clientSecret === 'string' && constantTimeEqual(this.clientSecret, digest)) return true;
    const previous = this[PREVIOUS_SECRET_PROPERTY];
    const until = this[PREVIOUS_SECRET_EXPIRES_PROPERTY];
    if (typeof previous === 'string' && typeof until === 'number' && deps.clock.now().getTime() < until && constantTimeEqual(previous, digest)) return true;
    const ctx = als.getStore();
    const ip = ctx?.ip ?? 'unknown';
    const refusal = await guarded(() => deps.clientAuthFailed(this.clientId, ip));
    // Awaited, as the revocation's below: the failure is in the audit log before the 401 or 429.
    await audit
      .record({ type: 'client_auth.failed', ip, clientId: this.clientId, detail: refusal ? { throttled: true, retry_after: refusal.retryAfter } : {} })
      .catch((e: unknown) => logger.error({ err: e }, 'audit write failed'));
    if (refusal) {
      metrics.throttles.inc({ reason: 'client_auth' });
      ctx?.set('retry-after', String(refusal.retryAfter));
      throw new TooManyFailures();
    }
    return false;
  } as never;

  // Every grant that redeems something commits its writes at once (atomic-grant.ts).
  const handlers = instance(provider).grantTypeHandlers;
  const refresh = handlers.get('refresh_token');
  if (refresh) {
    handlers.set(
      'refresh_token',
      withRefreshGrace(refresh as never, {
        store: deps.rotations,
        graceSeconds: config.refreshGraceSeconds,
        secrets: config.secrets ?? [],
        clock: deps.clock,
      }) as never,
    );
  }
  for (const grant of ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code']) {
    const handler = handlers.get(grant);
    if (handler) handlers.set(grant, withAtomicGrant(handler as never, deps.rotations) as never);
  }

  // Outermost: a failing database is a 503 with Retry-After wherever in the engine it shows.
  provider.use(unavailableAnswers((out, ctx) => deps.pages.error(localeHints(ctx), out)) as never);
  provider.use(
    jwtIntrospection({
      issuer: config.issuer,
      jwks: deps.jwks,
      grantAlive: (ref) => deps.oidcStore.grantAlive(ref),
      clientExists: async (id) => (await deps.clientMetadata(id)) !== undefined,
      keyUsable: deps.keyUsable,
      now: () => deps.clock.now(),
    }) as never,
  );

  provider.use(
    jwtRevocation({
      issuer: config.issuer,
      jwks: deps.jwks,
      now: () => deps.clock.now(),
      revokeToken: async ({ jti, clientId, sub }) => {
        await deps.revocations.record({ kind: 'token', ref: jti, createdAt: deps.clock.now() });
        const ctx = als.getStore();
        // Awaited: once the client has its answer, the revocation is in the audit log too.
        await audit
          .record({ type: 'access_token.revoked', ip: ctx?.ip ?? null, clientId, userId: sub && sub !== clientId ? sub : null, detail: { jti } })
          .catch((e: unknown) => logger.error({ err: e }, 'audit write failed'));
      },
    }) as never,
  );

  // JWKS: cacheable, but never past the next key change or half the pre-publication window; with an
  // ETag so a resource server's revalidation costs a 304.
  // The key set is fixed for this engine's life: its ETag is computed once.
  let jwksEtag: string | undefined;
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'jwks' || ctx.status !== 200) return;
    jwksEtag ??= `"${sha256(JSON.stringify(ctx.body))}"`;
    ctx.set('cache-control', `public, max-age=${deps.jwksCacheSeconds()}`);
    ctx.set('etag', jwksEtag);
    const ifNoneMatch = ctx.get('if-none-match');
    if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === jwksEtag)) {
      ctx.status = 304;
      ctx.body = null;
    }
  });

  // The operator's logo (LOGO_URL) may come from another origin.
  const pageCsp = config.logoUrl ? PAGE_CSP.replace("img-src 'self'", `img-src 'self' ${new URL(config.logoUrl).origin}`) : PAGE_CSP;
  provider.use(async (ctx, next) => {
    ctx.set('content-security-policy', pageCsp);
    ctx.set('x-frame-options', 'DENY');
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('referrer-policy', 'no-referrer');
    await next();
    // The logout confirmation posts to us and is then redirected to the app's
    // post_logout_redirect_uri; a form_post response posts straight to its redirect_uri. The engine
    // rendered the page only after checking the URI is registered for the client.
    if (ctx.type === 'text/html' && ctx.oidc?.client) {
      const { client, params } = ctx.oidc;
      const targets = [
        typeof params?.redirect_uri === 'string' && client.redirectUriAllowed(params.redirect_uri) ? formActionSource(params.redirect_uri) : undefined,
        typeof params?.post_logout_redirect_uri === 'string' && client.postLogoutRedirectUriAllowed(params.post_logout_redirect_uri)
          ? formActionSource(params.post_logout_redirect_uri)
          : undefined,
      ];
      ctx.set('content-security-policy', widenFormAction(ctx.response.get('content-security-policy'), targets));
    }
    // RFC 9700 §4.11: after a POSTed form, redirect with 303 so the browser does not re-POST.
    if (ctx.method === 'POST' && (ctx.status === 302 || ctx.status === 307)) ctx.status = 303;
    if (ctx.type === 'text/html') ctx.set('cache-control', 'no-store');
  });

  // Registered after the headers above, so the 429 page carries them too.
  provider.use(
    throttleUserCodes({
      guard: deps.userCodes,
      path: provider.pathFor('code_verification'),
      refused: (ip, refusal) => {
        metrics.throttles.inc({ reason: refusal.banned ? 'device_code_ip_banned' : 'device_code_ip_blocked' });
        if (refusal.started) {
          void audit
            .record({ type: 'ip.blocked', ip, detail: { reason: 'device code limit', retry_after: refusal.retryAfter } })
            .catch((e: unknown) => logger.error({ err: e }, 'audit write failed'));
        }
      },
      page: (status, description, ctx) => deps.pages.error(localeHints(ctx), { error: status === 429 ? 'too_many_requests' : 'access_denied', error_description: description }),
    }) as never,
  );

  const who = (ctx: KoaContextWithOIDC) => ({
    ip: ctx.ip,
    userAgent: ctx.get('user-agent') || null,
    clientId: ctx.oidc?.client?.clientId ?? null,
    userId: ctx.oidc?.entities?.Account?.accountId ?? null,
  });

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    metrics.tokensIssued.inc({ grant: grantLabel(ctx.oidc.params?.grant_type) });
  });
  // A reused code or refresh token: the engine (or our adapter, for a race's loser) revokes its grant
  // during the request, then the request fails with invalid_grant.
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC) => markGrantRevoked(ctx));
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error?: string; status?: number }) => {
    const grantType = ctx.oidc?.params?.grant_type;
    metrics.tokenErrors.inc({ grant: grantLabel(grantType), error: oauthErrorLabel(err.error ?? 'server_error') });
    const reuse = err.error === 'invalid_grant' && grantRevokedIn(ctx) && typeof grantType === 'string' ? REUSE_EVENTS[grantType] : undefined;
    if (reuse) {
      const token = ctx.oidc.entities?.RefreshToken ?? ctx.oidc.entities?.AuthorizationCode;
      void audit
        .record({ type: reuse, ...who(ctx), userId: (token as { accountId?: string } | undefined)?.accountId ?? null, detail: { grant_revoked: true } })
        .catch((e: unknown) => logger.error({ err: e }, 'audit write failed'));
    }
  });
  provider.on('server_error', (_ctx: KoaContextWithOIDC, err: Error) => {
    logger.error({ err }, 'protocol engine error');
  });
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    void audit.record({ type: 'logout', ...who(ctx) }).catch((e: unknown) => logger.error({ err: e }, 'audit write failed'));
  });
  return provider;
}
