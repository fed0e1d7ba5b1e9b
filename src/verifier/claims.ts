import type { JWTPayload } from 'jose';

/**
 * The claims of a verified Gatehouse access token (RFC 9068 §2.2). Gatehouse adds nothing else to
 * client-credentials tokens; other claims, if any, are typed `unknown`.
 */
export interface AccessTokenClaims extends JWTPayload {
  /** The issuer, equal to the verifier's `issuer`. */
  iss: string;
  /** The user's id, or the client's id when a client acts for itself (client credentials). */
  sub: string;
  /** This API's audience (a list only if the token names several). */
  aud: string | string[];
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Issue time, seconds since the epoch. */
  iat: number;
  /** Unique token id. */
  jti: string;
  /** The application the token was issued to. */
  client_id: string;
  /** Granted scopes, space-separated (absent when none was granted). */
  scope?: string;
}

/** RFC 9068 §2.2: the claims an access token MUST carry, with their types. `iss`/`aud` are checked by value. */
export function hasAccessTokenClaims(payload: JWTPayload): payload is AccessTokenClaims {
  return (
    typeof payload.sub === 'string' &&
    typeof payload.exp === 'number' &&
    typeof payload.iat === 'number' &&
    typeof payload.jti === 'string' &&
    typeof payload.client_id === 'string' &&
    (payload.scope === undefined || typeof payload.scope === 'string')
  );
}

/** Whether the space-separated `granted` list (RFC 6749 §3.3) holds `scope` as a whole word. No allocation. */
export function hasScope(granted: string | undefined, scope: string): boolean {
  // An empty scope is never granted (and indexOf('') would match at every position, forever).
  if (!granted || !scope) return false;
  for (let from = 0; ; ) {
    const at = granted.indexOf(scope, from);
    if (at < 0) return false;
    const end = at + scope.length;
    if ((at === 0 || granted.charCodeAt(at - 1) === 0x20) && (end === granted.length || granted.charCodeAt(end) === 0x20)) return true;
    from = at + 1;
  }
}

/** The granted scopes as a list. */
export function scopesOf(claims: Pick<AccessTokenClaims, 'scope'>): string[] {
  return claims.scope ? claims.scope.split(' ').filter(Boolean) : [];
}
