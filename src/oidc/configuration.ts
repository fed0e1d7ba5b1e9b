import { createHash } from 'node:crypto';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceRepository } from '../clients/records.js';
import type { UserRepository } from '../accounts/users.js';
import type { Config } from '../config/schema.js';
import { epochSeconds, type Clock } from '../lib/clock.js';
import type { ClientMetadataSource } from './adapter.js';
import {
  createAdapterFactory,
  INTROSPECTS_PROPERTY,
  OIDC_SCOPES,
  PREVIOUS_SECRET_EXPIRES_PROPERTY,
  PREVIOUS_SECRET_PROPERTY,
  RESOURCES_PROPERTY,
  SCOPE_PROPERTY,
} from './adapter.js';
import { ACCOUNT_CLIENT_ID, accountClientMetadata } from './account-sessions.js';
import { createFindAccount } from './find-account.js';
import { isOneTimeGrant } from './interactions.js';
import { mayIntrospect, type IntrospectionCaller } from './introspection-policy.js';
import { addGrantReference } from './jwt-introspection.js';
import type { OidcStore } from './oidc-store.js';
import { localeHints, type ProviderPages } from './pages.js';
import { resourceIndicators } from './resource-indicators.js';
import { wrongUserCodes } from './user-code-throttle.js';
import { FEED_METADATA, FEED_PATH } from '../revocation/feed.js';

export interface ConfigurationDeps {
  config: Readonly<Config>;
  jwks: { keys: object[] };
  oidcStore: OidcStore;
  clientMetadata: ClientMetadataSource;
  resources: ResourceRepository;
  users: UserRepository;
  pages: ProviderPages;
  clock: Clock;
}

const DAY = 86400;
const SESSION_IDLE = 14 * DAY;
const SESSION_ABSOLUTE = 30 * DAY;

/**
 * oidc-provider's configuration, every default that matters chosen on purpose. Only response_type=code; PKCE S256 for every client; rotation on every refresh;
 * no devInteractions; DPoP (RFC 9449) with server nonces, whose proofs our verifier checks at the
 * resource servers; no feature that needs a client's plain secret.
 */
export function buildConfiguration(deps: ConfigurationDeps): Configuration {
  const { config, pages } = deps;
  // Remaining lifetimes by our clock. iiat and loginTs are stamped by oidc-provider's own time, which
  // in a running server is the same system clock.
  const epoch = () => epochSeconds(deps.clock);
  const https = config.issuer.startsWith('https:');
  return {
    adapter: createAdapterFactory(deps.oidcStore, deps.clientMetadata),
    findAccount: createFindAccount(deps.users),
    jwks: deps.jwks as Configuration['jwks'],
    // The account page's own client (oidc/account-sessions.ts); every other client is in the database.
    clients: [accountClientMetadata(config.issuer) as never],
    extraClientMetadata: {
      properties: [RESOURCES_PROPERTY, SCOPE_PROPERTY, INTROSPECTS_PROPERTY, PREVIOUS_SECRET_PROPERTY, PREVIOUS_SECRET_EXPIRES_PROPERTY],
      validator(_ctx, key, value) {
        if ((key === RESOURCES_PROPERTY || key === INTROSPECTS_PROPERTY) && value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
          throw new Error(`${key} must be an array of strings`);
        }
        if (key === SCOPE_PROPERTY && value !== undefined && value !== null && typeof value !== 'string') {
          throw new Error(`${SCOPE_PROPERTY} must be a string`);
        }
        if (key === PREVIOUS_SECRET_PROPERTY && value !== undefined && typeof value !== 'string') {
          throw new Error(`${PREVIOUS_SECRET_PROPERTY} must be a string`);
        }
        if (key === PREVIOUS_SECRET_EXPIRES_PROPERTY && value !== undefined && !Number.isSafeInteger(value)) {
          throw new Error(`${PREVIOUS_SECRET_EXPIRES_PROPERTY} must be epoch milliseconds`);
        }
      },
    },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    pkce: { required: () => true },
    // Gatehouse's revocation feed (revocation/feed.ts), for resource servers that verify offline.
    // (Setting `discovery` replaces the engine's default, whose only value is claim_types_supported.)
    discovery: { claim_types_supported: ['normal'], ui_locales_supported: [...pages.locales], [FEED_METADATA]: `${config.issuer.replace(/\/$/, '')}${FEED_PATH}` },
    scopes: [...OIDC_SCOPES],
    // `amr` (RFC 8176): how the person signed in (interactions.ts finishLogin), e.g. [hwk, user, mfa] for a passkey.
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'] },
    // ID tokens carry the claims of the granted scopes (docs/architecture.md), not only userinfo.
    conformIdTokenClaims: false,
    rotateRefreshToken: () => true,
    // JWT access tokens issued from a user's grant carry a hashed reference to it, for introspection.
    formats: { customizers: { jwt: addGrantReference as never } },
    acceptQueryParamAccessTokens: false,
    allowOmittingSingleRegisteredRedirectUri: false,
    cookies: {
      keys: [...(config.secrets ?? [])],
      names: {
        session: https ? '__Host-gatehouse_session' : 'gatehouse_session',
        interaction: 'gatehouse_interaction',
        resume: 'gatehouse_resume',
      },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: config.idTokenTtl,
      DeviceCode: 600,
      Interaction: 30 * 60,
      // Idle lifetime, never beyond the absolute one counted from the first issue (iiat).
      RefreshToken: (_ctx, token) => {
        const issuedFirst = (token as { iiat?: number }).iiat ?? epoch();
        const absoluteLeft = issuedFirst + config.refreshTokenAbsoluteTtl - epoch();
        return Math.max(1, Math.min(config.refreshTokenTtl, absoluteLeft));
      },
      Grant: config.refreshTokenAbsoluteTtl,
      Session: (_ctx, session) => {
        const loginTs = (session as { loginTs?: number }).loginTs ?? epoch();
        return Math.max(1, Math.min(SESSION_IDLE, loginTs + SESSION_ABSOLUTE - epoch()));
      },
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 9449: a client that sends a DPoP proof gets a token bound to its key (`cnf.jkt`, token_type
      // DPoP; a public client's refresh token is bound too). Nonces (§8) are required, from a secret
      // every instance derives from SECRETS, so a nonce from one instance is good at the other; proof
      // replay is detected through the adapter (ReplayDetection rows), across instances.
      dPoP: { enabled: true, nonceSecret: dpopNonceSecret(config.secrets ?? []), requireNonce: () => true, allowReplay: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client sees its own tokens, and an API's introspector the access tokens for that API.
        allowedPolicy: async (_ctx, client, token) =>
          mayIntrospect(client as unknown as IntrospectionCaller, { clientId: token.clientId, aud: (token as { aud?: string | string[] }).aud }),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: async (ctx, form, _out, err) => {
          // A code form posted without a live browser session (no cookie, or an expired one) fails
          // its xsrf check, and the engine then renders a fresh form into a session it never saved,
          // whose persist() throws: a plain 500. Send the browser to the code page instead, which
          // starts a session; nothing is saved for this one.
          const session = ctx.oidc.session as unknown as { exp?: number; touched: boolean } | undefined;
          if (err && session && typeof session.exp !== 'number') {
            session.touched = false;
            ctx.status = 303;
            ctx.redirect(ctx.oidc.urlFor('code_verification'));
            return;
          }
          const e = err as { userCode?: string; name?: string } | undefined;
          // A code that is not live (unknown, expired, used) was a guess: it counts against the IP.
          if (e?.userCode) wrongUserCodes.add(ctx);
          const message = !err
            ? { text: 'device_input.enter', error: false }
            : e?.userCode || e?.name === 'NoCodeError'
              ? { text: 'device_input.invalid', error: true }
              : e?.name === 'AbortedError'
                ? { text: 'device_input.cancelled', error: true }
                : { text: 'device_input.failed', error: true };
          html(ctx, pages.deviceInput(localeHints(ctx), form, message));
        },
        userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) => {
          html(ctx, pages.deviceConfirm(localeHints(ctx), form, client.clientName ?? client.clientId, userCode));
        },
        successSource: async (ctx) => {
          html(ctx, pages.deviceSuccess(localeHints(ctx), ctx.oidc.client?.clientName));
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => html(ctx, pages.logout(localeHints(ctx), form, ctx.oidc.client?.clientName)),
        postLogoutSuccessSource: async (ctx) => html(ctx, pages.logoutSuccess(localeHints(ctx), ctx.oidc.client?.clientName)),
      },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      resourceIndicators: resourceIndicators(deps.resources, config.accessTokenTtl) as never,
      userinfo: { enabled: true },
      registration: { enabled: false },
      claimsParameter: { enabled: false },
      backchannelLogout: { enabled: false },
      jwtIntrospection: { enabled: false },
      jwtUserinfo: { enabled: false },
      jwtResponseModes: { enabled: false },
      encryption: { enabled: false },
      requestObjects: { enabled: false },
    },
    // No HS* anywhere: client secrets are stored hashed, so they cannot be HMAC keys.
    enabledJWA: {
      clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256'],
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: ['ES256', 'RS256', 'PS256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
      authorizationSigningAlgValues: ['RS256', 'ES256'],
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The default, except that a grant approved without "Remember this choice" answers only the
    // authorization it was approved in (the resumed request names it in the consent result).
    loadExistingGrant: async (ctx) => {
      // The account page is Gatehouse itself: signing in to it asks for no consent.
      if (ctx.oidc.client?.clientId === ACCOUNT_CLIENT_ID && ctx.oidc.session?.accountId) {
        const previous = ctx.oidc.session.grantIdFor(ACCOUNT_CLIENT_ID);
        const kept = previous ? await ctx.oidc.provider.Grant.find(previous) : undefined;
        if (kept && kept.accountId === ctx.oidc.session.accountId) return kept;
        const grant = new ctx.oidc.provider.Grant({ clientId: ACCOUNT_CLIENT_ID, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope('openid');
        await grant.save();
        return grant;
      }
      const resumed = ctx.oidc.result?.consent?.grantId as string | undefined;
      const grantId = resumed ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (!grantId || (!resumed && isOneTimeGrant(grantId))) return undefined;
      return ctx.oidc.provider.Grant.find(grantId);
    },
    clientBasedCORS: (ctx, origin, client) => {
      // Browser apps (public clients) may call the token and userinfo endpoints from their own origin.
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
    },
    renderError: async (ctx, out) => html(ctx, pages.error(localeHints(ctx), out as { error: string; error_description?: string }, ctx.oidc?.client?.clientName)),
    expiresWithSession: async (_ctx, source) => !source.scopes.has('offline_access'),
    issueRefreshToken: async (_ctx, client, source) => client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
  };
}

/** 32 bytes for oidc-provider's DPoP nonces, the same on every instance that shares SECRETS. */
function dpopNonceSecret(secrets: readonly string[]): Buffer {
  return createHash('sha256').update(`gatehouse dpop nonce\u0000${secrets[0] ?? ''}`).digest();
}

function html(ctx: KoaContextWithOIDC, body: string): void {
  ctx.type = 'html';
  ctx.body = body;
}
