import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors, jwtVerify, type JWK } from 'jose';
import type { DpopNonces } from './dpop-nonce.js';

/**
 * DPoP proofs (RFC 9449 §4.3, §7.1) at a resource server: the request's `DPoP` header must be a JWT
 * signed by the key the access token is bound to (`cnf.jkt`), made for this request and never seen
 * before. What is checked, each failure a reason the caller turns into a coded error:
 * - exactly one `DPoP` header, a compact JWS with `typ: dpop+jwt`, an asymmetric `alg` from the
 *   allow-list and a public `jwk` in its header, whose signature verifies with that `jwk`;
 * - `htm` is the request's method; `htu` is its URL without query and fragment (§4.3 point 9);
 * - `iat` within `window` seconds of now (plus the clock tolerance either side);
 * - `jti` not seen in a proof before (a bounded in-memory cache, per process: see the replay cache);
 * - `ath` is the SHA-256 of the access token presented with it;
 * - the `jwk`'s thumbprint (RFC 7638) equals the token's `cnf.jkt`;
 * - with nonces configured, `nonce` is one this verifier issued recently (RFC 9449 §9), else
 *   `use_nonce`: the caller answers with a fresh nonce to retry with.
 */
export type ProofFailure = 'missing' | 'invalid' | 'replayed' | 'wrong_key' | 'use_nonce';

export interface ProofContext {
  method: string;
  /** The URL the client called (scheme, host, port, path); query and fragment are ignored. */
  url: string | URL;
  /** The `DPoP` header value(s). */
  proof: string | readonly string[] | undefined;
  accessToken: string;
  jkt: string;
}

export interface DpopChecker {
  check(ctx: ProofContext): Promise<ProofFailure | undefined>;
}

export const DPOP_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'PS256'] as const;

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** `htu` comparison (RFC 9449 §4.3): scheme and host case-insensitive, default port dropped, no query or fragment. */
export function normalizeHtu(value: string | URL): string | undefined {
  const url = typeof value === 'string' ? URL.parse(value) : value;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function createDpopChecker(o: {
  algorithms: readonly string[];
  /** Seconds a proof is good for after its `iat`. */
  window: number;
  clockTolerance: number;
  /** Most `jti`s remembered at once. */
  maxReplayEntries: number;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Server-issued nonces the proofs must carry (RFC 9449 §9); none asked for without. */
  nonces?: DpopNonces;
}): DpopChecker {
  // jti → when it may be forgotten (ms): after that its proof's iat is out of the window anyway.
  const seen = new Map<string, number>();
  const remember = (key: string, until: number): boolean => {
    const now = o.now();
    if ((seen.get(key) ?? 0) > now) return false;
    if (seen.size >= o.maxReplayEntries) {
      for (const [k, t] of seen) if (t <= now) seen.delete(k);
      // Still full: the oldest entries go first (a flood of fresh proofs cannot grow memory).
      for (const k of seen.keys()) {
        if (seen.size < o.maxReplayEntries) break;
        seen.delete(k);
      }
    }
    seen.delete(key);
    seen.set(key, until);
    return true;
  };

  return {
    async check(ctx) {
      const proofs = typeof ctx.proof === 'string' ? [ctx.proof] : (ctx.proof ?? []);
      if (proofs.length === 0) return 'missing';
      // §4.3 point 1: not more than one DPoP header.
      if (proofs.length !== 1 || proofs[0]!.includes(',')) return 'invalid';
      const proof = proofs[0]!;
      let jwk: JWK;
      let payload;
      try {
        const header = decodeProtectedHeader(proof);
        jwk = header.jwk as JWK;
        if (!jwk || typeof jwk !== 'object' || PRIVATE_MEMBERS.some((m) => m in jwk)) return 'invalid';
        ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
          typ: 'dpop+jwt',
          algorithms: [...o.algorithms],
          currentDate: new Date(o.now()),
          clockTolerance: o.clockTolerance,
          maxTokenAge: o.window,
          requiredClaims: ['iat', 'jti'],
        }));
      } catch (err) {
        if (err instanceof errors.JOSEError || err instanceof TypeError) return 'invalid';
        throw err;
      }
      const nowS = o.now() / 1000;
      if (typeof payload.iat !== 'number' || payload.iat > nowS + o.clockTolerance) return 'invalid';
      if (payload.htm !== ctx.method.toUpperCase()) return 'invalid';
      const htu = typeof payload.htu === 'string' ? normalizeHtu(payload.htu) : undefined;
      if (!htu || htu !== normalizeHtu(ctx.url)) return 'invalid';
      if (payload.ath !== createHash('sha256').update(ctx.accessToken).digest('base64url')) return 'invalid';
      if ((await calculateJwkThumbprint(jwk)) !== ctx.jkt) return 'wrong_key';
      if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) return 'invalid';
      // Before the replay cache: the client retries with a new proof, and this one is not kept.
      if (o.nonces && !o.nonces.valid(payload.nonce)) return 'use_nonce';
      const forgetAt = (payload.iat + o.window + o.clockTolerance) * 1000;
      if (!remember(`${ctx.jkt}:${payload.jti}`, forgetAt)) return 'replayed';
      return undefined;
    },
  };
}
