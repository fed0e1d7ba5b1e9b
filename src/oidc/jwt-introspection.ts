import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { sha256 } from '../lib/digest.js';
import { mayIntrospect, type IntrospectionCaller } from './introspection-policy.js';

/** Claim linking a JWT access token to its grant without revealing the grant id: SHA-256 of it. */
export const GRANT_CLAIM = 'gh_grant';

export interface JwtIntrospectionDeps {
  issuer: string;
  /** The private key set the engine signs with; only the public halves are used here. */
  jwks: { keys: object[] };
  /** Is the grant with this SHA-256 reference still alive (not revoked, not expired)? */
  grantAlive(grantRef: string): Promise<boolean>;
  clientExists(clientId: string): Promise<boolean>;
  /** Is the signing key still usable on disk right now (not revoked since the last reload)? */
  keyUsable(kid: string | undefined): Promise<boolean>;
  now(): Date;
}

/** oidc-provider's jwt customizer: adds the grant reference to access tokens issued from a grant. */
export function addGrantReference(_ctx: unknown, token: { grantId?: string }, jwt: { payload: Record<string, unknown> }): void {
  if (token.grantId) jwt.payload[GRANT_CLAIM] = sha256(token.grantId);
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'];

/**
 * oidc-provider refuses to introspect JWT access tokens (they are not stored). RFC 7662 callers expect
 * an answer, so after the engine has authenticated the caller and refused the token as structured,
 * Gatehouse answers from the token itself: signature by one of our keys (and that key not revoked on
 * disk since the engine was built), issuer, typ at+jwt, expiry, the caller allowed to see it
 * (introspection-policy.ts), the client still registered, and — for tokens issued from a user's
 * grant — that grant still alive (a ban, a password reset or a detected refresh-token reuse makes it
 * inactive at once).
 */
export function jwtIntrospection(deps: JwtIntrospectionDeps) {
  const keys = createLocalJWKSet({
    keys: deps.jwks.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([name]) => PUBLIC_MEMBERS.includes(name))) as JWK),
  });

  const answer = async (token: string, caller: IntrospectionCaller): Promise<Record<string, unknown>> => {
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      ({ payload, protectedHeader: { kid } } = await jwtVerify(token, keys, {
        issuer: deps.issuer,
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256'],
        currentDate: deps.now(),
      }));
    } catch {
      return { active: false };
    }
    const clientId = payload.client_id;
    if (typeof clientId !== 'string' || !mayIntrospect(caller, { clientId, aud: payload.aud })) return { active: false };
    if (!(await deps.keyUsable(kid))) return { active: false };
    if (!(await deps.clientExists(clientId))) return { active: false };
    const grantRef = payload[GRANT_CLAIM];
    if (grantRef !== undefined && (typeof grantRef !== 'string' || !(await deps.grantAlive(grantRef)))) return { active: false };
    return {
      active: true,
      token_type: 'Bearer',
      client_id: clientId,
      sub: payload.sub,
      aud: payload.aud,
      iss: payload.iss,
      exp: payload.exp,
      iat: payload.iat,
      jti: payload.jti,
      ...(typeof payload.scope === 'string' ? { scope: payload.scope } : {}),
    };
  };

  /** Koa middleware for the engine: rewrites its "structured tokens cannot be introspected" refusal. */
  return async function introspectJwts(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (
      ctx.oidc?.route === 'introspection' &&
      ctx.status === 400 &&
      (ctx.body as { error?: string } | undefined)?.error === 'unsupported_token_type' &&
      ctx.oidc.client &&
      typeof ctx.oidc.params?.token === 'string'
    ) {
      ctx.status = 200;
      ctx.body = await answer(ctx.oidc.params.token, ctx.oidc.client as unknown as IntrospectionCaller);
    }
  };
}
