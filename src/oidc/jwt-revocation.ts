import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';

export interface JwtRevocationDeps {
  issuer: string;
  /** The private key set the engine signs with; only the public halves are used here. */
  jwks: { keys: object[] };
  /** Records the access token `jti` (of `clientId`, for `sub`) for the revocation feed. */
  revokeToken(token: { jti: string; clientId: string; sub: string | undefined }): Promise<void>;
  now(): Date;
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'];

/**
 * oidc-provider refuses to revoke JWT access tokens (they are not stored: `unsupported_token_type`).
 * RFC 7009 asks that an access token can be revoked, so after the engine has authenticated the caller
 * and refused the token as structured, Gatehouse checks it is one of ours (signature, issuer, typ
 * at+jwt, not expired) issued to the calling client (the same rule as for refresh tokens), and lists
 * its `jti` in the revocation feed, where resource servers that verify offline learn of it. As
 * RFC 7009 §2.2 says, the answer is 200 whatever the token was (a token of another client, an
 * expired or forged one changes nothing).
 */
export function jwtRevocation(deps: JwtRevocationDeps) {
  const keys = createLocalJWKSet({
    keys: deps.jwks.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([name]) => PUBLIC_MEMBERS.includes(name))) as JWK),
  });

  const revoke = async (token: string, clientId: string): Promise<void> => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: deps.issuer, typ: 'at+jwt', algorithms: ['ES256', 'RS256'], currentDate: deps.now() }));
    } catch {
      return;
    }
    if (payload.client_id !== clientId || typeof payload.jti !== 'string' || payload.jti === '') return;
    await deps.revokeToken({ jti: payload.jti, clientId, sub: payload.sub });
  };

  /** Koa middleware for the engine: turns its "structured tokens cannot be revoked" refusal into a revocation. */
  return async function revokeJwts(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (
      ctx.oidc?.route === 'revocation' &&
      ctx.status === 400 &&
      (ctx.body as { error?: string } | undefined)?.error === 'unsupported_token_type' &&
      ctx.oidc.client &&
      typeof ctx.oidc.params?.token === 'string'
    ) {
      await revoke(ctx.oidc.params.token, ctx.oidc.client.clientId);
      ctx.status = 200;
      ctx.body = '';
    }
  };
}
