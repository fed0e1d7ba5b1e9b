import { errors, jwtVerify, type CryptoKey, type JWTVerifyOptions, type JWTVerifyResult } from 'jose';
import { readAuthorization, readBearerHeader } from './authorization-header.js';
import { createDpopChecker } from './dpop.js';
import { createDpopNonces } from './dpop-nonce.js';
import { hasAccessTokenClaims, hasScope, type AccessTokenClaims } from './claims.js';
import { createMetadataLookup, type IssuerMetadata } from './discovery.js';
import { createErrorFactory, VerifierError, type ErrorFactory } from './errors.js';
import { createFetchJson, type FetchJson } from './fetch-json.js';
import { fromJoseError } from './jose-errors.js';
import { isScopeToken, resolveOptions, type ResolvedOptions, type VerifierOptions } from './options.js';
import { createRemoteKeySet, type RemoteKeySet } from './remote-key-set.js';
import { createRevocationList, type RevocationList } from './revocation-list.js';

export interface Verifier {
  /**
   * Verifies the access token in an `Authorization` header value (`Bearer <token>`) or a raw token,
   * and returns its claims. Throws a {@link VerifierError} with a stable `code`, the HTTP `status`
   * to answer (401, 403, or 503 when Gatehouse's keys cannot be had) and the `WWW-Authenticate`
   * header; any other error is a bug.
   *
   * @param scopes scopes this call needs on top of the verifier's `requiredScopes` (403 when one is missing).
   */
  verify(authorization: string | null | undefined, scopes?: readonly string[]): Promise<AccessTokenClaims>;
  /**
   * The same for a whole request, which DPoP needs (RFC 9449 §7): `Authorization: Bearer <token>`,
   * or `Authorization: DPoP <token>` with a `DPoP` proof header made for this method and URL by the
   * key the token is bound to. A DPoP-bound token is refused as a bearer token, and by `verify()`.
   */
  verifyRequest(request: VerifiableRequest, scopes?: readonly string[]): Promise<AccessTokenClaims>;
  readonly issuer: string;
  readonly audience: string | readonly string[];
  /** Stops polling the revocation feed (the timer never keeps a process alive; this is for tests and reloads). */
  close(): void;
}

/** What `verifyRequest()` reads of a request. */
export interface VerifiableRequest {
  method: string;
  /** The URL the client called: scheme, host (and port), path; the query is ignored. */
  url: string | URL;
  headers: { authorization?: string | undefined; dpop?: string | string[] | undefined };
}

const NO_SCOPES: readonly string[] = Object.freeze([]);

/**
 * A verifier for Gatehouse access tokens, for resource servers: offline, no call to Gatehouse per
 * request. Create one per process and reuse it (it holds the key cache).
 *
 * What `verify()` checks, in order:
 * - the request carries a Bearer token (header, RFC 6750 §2.1) or a raw token;
 * - it is a JWS compact JWT whose `alg` is in `algorithms` (default ES256; `none` and HS* can never
 *   be configured), with no unknown `crit` header;
 * - its signature, with the key named by `kid` in the issuer's JWKS, found through discovery
 *   (`jwks_uri`, metadata `issuer` identical to `issuer`), cached `cacheMaxAge`, refetched on an
 *   unknown `kid` at most once per `cooldownDuration`, served stale up to `staleIfError` while
 *   Gatehouse is unreachable; keys marked `key_ops` without `verify` or `use` other than `sig` are
 *   never used;
 * - header `typ` is `at+jwt` (RFC 9068 §2.1), so an ID token or any other JWT from the same keys is
 *   refused;
 * - `iss` equals `issuer` exactly; `aud` names `audience`;
 * - `exp` is present and in the future and `nbf`, if present, in the past, both with `clockTolerance`;
 * - `sub`, `iat`, `jti`, `client_id` are present (RFC 9068 §2.2) and `scope`, if present, is a string;
 * - not revoked (when the issuer advertises its revocation feed, or `revocation` names one): its
 *   `sub` is not listed with a `not_before` after its `iat` (ban, password reset), its grant
 *   (`gh_grant`) and its `jti` are not listed; checked in memory against the feed polled every
 *   `revocation.pollInterval` (2 s by default). When the feed has been unreachable for longer than
 *   `pollInterval + maxStale`, every token is refused with ERR_REVOCATION_UNAVAILABLE (503), or, with
 *   `onUnavailable: 'open'`, accepted on the checks above alone;
 * - `scope` holds every scope of `requiredScopes` and of the call.
 *
 * What it does NOT check (know this before relying on it):
 * - revocation is only as fresh as the last poll (a few seconds), and not at all with
 *   `revocation: false` or an issuer without a feed: then a token stays valid until `exp` even after
 *   its grant is revoked or its user banned; a deleted client's tokens are not listed;
 * - replay of a bearer token: the same token may be presented any number of times before it expires
 *   (`jti` is not remembered). A DPoP-bound token (`cnf.jkt`) is only accepted by `verifyRequest()`,
 *   with a `DPoP` proof checked for `typ`, `alg`, its embedded public key, `htm`, `htu`, `iat` within
 *   `dpop.window`, `ath`, the key thumbprint against `cnf.jkt`, and its `jti` not seen before by this
 *   process (a bounded cache: `dpop.maxReplayEntries`; several processes of one API do not share it,
 *   and resource-server nonces are not issued); mTLS binding is not verified;
 * - a removed or revoked signing key keeps verifying until this process refetches the key set (up
 *   to `cacheMaxAge`, or `cacheMaxAge + staleIfError` while Gatehouse is unreachable);
 * - `iat` is not compared with the clock (a token is as good as its `exp`), and there is no maximum
 *   token age;
 * - what `sub` means: a user id, or the client id for client credentials; whether that subject may
 *   do what the request asks (ownership, roles) is the service's decision;
 * - `client_id` is not restricted to a list of applications, and `auth_time`, `acr` or `amr` are not
 *   checked;
 * - tokens in query strings or form bodies (RFC 6750 §2.2, §2.3) are never read.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const o = resolveOptions(options);
  const fail = createErrorFactory(o.realm, o.dpop.algorithms);
  const now = o.clock ? () => o.clock!.now().getTime() : Date.now;
  const nonces = o.dpop.nonce ? createDpopNonces({ secret: o.dpop.nonce.secret, lifetime: o.dpop.nonce.lifetime, clockTolerance: o.clockTolerance, now }) : undefined;
  const dpop = createDpopChecker({
    algorithms: o.dpop.algorithms,
    window: o.dpop.window,
    clockTolerance: o.clockTolerance,
    maxReplayEntries: o.dpop.maxReplayEntries,
    now,
    ...(nonces ? { nonces } : {}),
  });
  const fetchJson = createFetchJson(o.fetch, o.timeoutDuration);
  const metadata = createMetadataLookup(o.issuer, fetchJson);
  const keys = keySource(o, fail, fetchJson, metadata);
  const revocations = revocationSource(o, keys, metadata);
  let revocationsReady = false;
  // Built once: jose re-reads them per call, nothing per call is allocated here.
  const joseOptions: JWTVerifyOptions = Object.freeze({
    issuer: o.issuer,
    audience: o.audience,
    typ: 'at+jwt',
    algorithms: o.algorithms,
    clockTolerance: o.clockTolerance,
  });
  const clock = o.clock;
  const optionsNow = clock ? () => ({ ...joseOptions, currentDate: clock.now() }) : () => joseOptions;

  async function verifySignedJwt(token: string): Promise<JWTVerifyResult> {
    const opts = optionsNow();
    const encodedHeader = token.slice(0, token.indexOf('.'));
    try {
      const known = keys.knownKey(encodedHeader);
      if (known) return await jwtVerify(token, known, opts);
      const result = await jwtVerify(token, keys.getKey, opts);
      keys.remember(encodedHeader, result.key as CryptoKey);
      return result;
    } catch (err) {
      // A token without `kid` while two keys of its algorithm are published (during a rotation):
      // try each of them (jose's documented pattern).
      if (err instanceof errors.JWKSMultipleMatchingKeys) return verifyWithEach(token, err, opts, fail);
      throw fromJoseError(err, fail) ?? err;
    }
  }

  return Object.freeze({
    issuer: o.issuer,
    audience: o.audience,
    async verify(authorization: string | null | undefined, scopes: readonly string[] = NO_SCOPES): Promise<AccessTokenClaims> {
      const presented = readAuthorization(authorization);
      if (presented.kind === 'missing') throw fail('ERR_TOKEN_MISSING');
      if (presented.kind === 'malformed') throw fail('ERR_TOKEN_MALFORMED');
      const payload = await checkToken(presented.token);
      // A bound token is only good with a proof for the request, which verify() has not got.
      if (boundKey(payload) !== undefined || o.dpop.required) throw fail('ERR_DPOP_REQUIRED');
      return checkScopes(payload, scopes);
    },
    async verifyRequest(request: VerifiableRequest, scopes: readonly string[] = NO_SCOPES): Promise<AccessTokenClaims> {
      const authorization = request.headers.authorization;
      const dpopToken = typeof authorization === 'string' ? DPOP_SCHEME.exec(authorization)?.[1] : undefined;
      if (dpopToken === undefined) {
        const presented = readBearerHeader(authorization);
        if (presented.kind === 'missing') throw fail(o.dpop.required ? 'ERR_DPOP_REQUIRED' : 'ERR_TOKEN_MISSING');
        if (presented.kind === 'malformed') throw fail('ERR_TOKEN_MALFORMED');
        const payload = await checkToken(presented.token);
        // RFC 9449 §7.1: a bound token presented as a bearer token is refused.
        if (boundKey(payload) !== undefined || o.dpop.required) throw fail('ERR_DPOP_REQUIRED');
        return checkScopes(payload, scopes);
      }
      const payload = await checkToken(dpopToken);
      const jkt = boundKey(payload);
      if (jkt === undefined) throw fail('ERR_TOKEN_NOT_BOUND');
      const failure = await dpop.check({ method: request.method, url: request.url, proof: request.headers.dpop, accessToken: dpopToken, jkt });
      if (failure === 'replayed') throw fail('ERR_DPOP_PROOF_REPLAYED');
      if (failure === 'wrong_key') throw fail('ERR_DPOP_KEY_MISMATCH');
      if (failure === 'use_nonce' && nonces) {
        throw new VerifierError('ERR_DPOP_NONCE_REQUIRED', fail('ERR_DPOP_NONCE_REQUIRED').wwwAuthenticate, { dpopNonce: nonces.issue() });
      }
      if (failure !== undefined) throw fail('ERR_DPOP_PROOF_INVALID');
      return checkScopes(payload, scopes);
    },
    close() {
      revocations?.close();
    },
  });

  async function checkToken(token: string): Promise<AccessTokenClaims> {
    const { payload } = await verifySignedJwt(token);
    if (!hasAccessTokenClaims(payload)) throw fail('ERR_TOKEN_MALFORMED');
    if (revocations) {
      // Only the first call waits for the feed; every later one reads memory.
      if (!revocationsReady) {
        await revocations.ready();
        revocationsReady = true;
      }
      const verdict = revocations.check(payload);
      if (verdict === 'revoked') throw fail('ERR_TOKEN_REVOKED');
      if (verdict === 'unavailable' && o.revocation && o.revocation.onUnavailable === 'closed') throw fail('ERR_REVOCATION_UNAVAILABLE');
    }
    return payload;
  }

  function checkScopes(payload: AccessTokenClaims, scopes: readonly string[]): AccessTokenClaims {
    if (!hasEvery(payload.scope, o.requiredScopes) || !hasEvery(payload.scope, scopes)) {
      throw fail.insufficientScope(requiredList(o.requiredScopes, scopes));
    }
    return payload;
  }
}

/** RFC 9449 §7.1: `Authorization: DPoP <token>`, the scheme case-insensitive. */
const DPOP_SCHEME = /^dpop +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The key thumbprint a DPoP-bound token names (RFC 9449 §6.1 `cnf.jkt`), if any. */
function boundKey(payload: AccessTokenClaims): string | undefined {
  const cnf = payload.cnf as { jkt?: unknown } | undefined;
  return typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
}

function keySource(o: ResolvedOptions, fail: ErrorFactory, fetchJson: FetchJson, metadata: () => Promise<IssuerMetadata>): RemoteKeySet {
  const jwksUri = o.jwksUri ? async () => o.jwksUri! : async () => (await metadata()).jwksUri;
  const clock = o.clock;
  return createRemoteKeySet({
    load: async () => fetchJson(await jwksUri(), 'application/jwk-set+json, application/json'),
    now: clock ? () => clock.now().getTime() : Date.now,
    cacheMaxAge: o.cacheMaxAge,
    cooldownDuration: o.cooldownDuration,
    staleIfError: o.staleIfError,
    unavailable: (cause) => fail('ERR_KEYS_UNAVAILABLE', cause),
  });
}

async function verifyWithEach(
  token: string,
  candidates: errors.JWKSMultipleMatchingKeys,
  opts: JWTVerifyOptions,
  fail: ErrorFactory,
): Promise<JWTVerifyResult> {
  for await (const key of candidates as AsyncIterable<CryptoKey>) {
    try {
      return await jwtVerify(token, key, opts);
    } catch (err) {
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw fromJoseError(err, fail) ?? err;
    }
  }
  throw fail('ERR_TOKEN_SIGNATURE');
}

function hasEvery(granted: string | undefined, required: readonly string[]): boolean {
  for (const scope of required) if (!hasScope(granted, scope)) return false;
  return true;
}

function requiredList(fixed: readonly string[], call: readonly string[]): string[] {
  const all = [...new Set([...fixed, ...call])];
  // Scopes go into a quoted header attribute: refuse anything that could break out of it.
  const bad = all.find((s) => !isScopeToken(s));
  if (bad !== undefined) throw new TypeError(`verify(): ${JSON.stringify(bad)} is not a scope token (RFC 6749 §3.3)`);
  return all;
}

function revocationSource(o: ResolvedOptions, keys: RemoteKeySet, metadata: () => Promise<IssuerMetadata>): RevocationList | undefined {
  const settings = o.revocation;
  if (!settings) return undefined;
  const clock = o.clock;
  return createRevocationList({
    settings,
    feedUri: settings.uri ? async () => settings.uri : async () => (await metadata()).revocationFeedUri,
    required: o.revocationRequired,
    issuer: o.issuer,
    algorithms: o.algorithms,
    clockTolerance: o.clockTolerance,
    getKey: keys.getKey,
    fetch: o.fetch,
    timeoutDuration: o.timeoutDuration,
    now: clock ? () => clock.now().getTime() : Date.now,
  });
}
