import { randomBytes } from 'node:crypto';

/**
 * The verifier's options, validated once when it is created: every problem is reported together
 * and the result is frozen (nothing is re-checked per request).
 */

/**
 * Signature algorithms a verifier may accept. Only asymmetric ones: `none` is never a signature, and
 * an HMAC (`HS*`) "verified" with a public key is the classic algorithm-confusion forgery.
 */
export type AsymmetricAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'EdDSA' | 'Ed25519';

const ASYMMETRIC: ReadonlySet<string> = new Set<AsymmetricAlgorithm>(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519']);

export interface VerifierOptions {
  /** Gatehouse's issuer URL, exactly as its tokens' `iss` (the server's `ISSUER`), e.g. `https://id.example.com`. */
  issuer: string;
  /** This API's audience (`gatehouse resources create --audience`). A token must name it in `aud`; a list accepts any of them. */
  audience: string | readonly string[];
  /** Accepted signature algorithms. Default `['ES256']`, what Gatehouse signs access tokens with. */
  algorithms?: readonly AsymmetricAlgorithm[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. Default 5. */
  clockTolerance?: number;
  /** Scopes every token must carry (a list, or one space-separated string), checked on every `verify()`. */
  requiredScopes?: readonly string[] | string;
  /** `realm` of the `WWW-Authenticate` challenges. Default: none. */
  realm?: string;
  /** The JWKS URL, to skip discovery. Default: `jwks_uri` from `${issuer}/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** Milliseconds a fetched key set is used before it is fetched again. Default 600 000 (10 min), as jose. */
  cacheMaxAge?: number;
  /**
   * Minimum milliseconds between two fetches of discovery or the key set, whatever happens (unknown
   * `kid`s, failures): a flood of forged tokens costs Gatehouse at most one request per cooldown.
   * Default 30 000, as jose.
   */
  cooldownDuration?: number;
  /**
   * Milliseconds past `cacheMaxAge` during which the last good key set keeps verifying tokens when
   * Gatehouse cannot be reached (RFC 5861's stale-if-error). Default 3 600 000 (1 h). 0 fails closed
   * at once.
   */
  staleIfError?: number;
  /** Milliseconds one HTTP request to Gatehouse may take. Default 5 000. */
  timeoutDuration?: number;
  /** The `fetch` used for discovery and the key set. Default: the global one. */
  fetch?: typeof fetch;
  /** The source of time for `exp`, `nbf`, the key cache and the revocation feed's age. Default: the system clock. */
  clock?: { now(): Date };
  /**
   * Gatehouse's revocation feed: access tokens revoked before they expire (a banned user, a password
   * reset, a revoked grant or token) are refused within a few seconds. Default: on when the issuer's
   * discovery advertises the feed (`gatehouse_revocation_feed_uri`); with `jwksUri` set, discovery is
   * skipped, so give `revocation.uri`. `false` turns it off.
   */
  revocation?: false | RevocationOptions;
  /** DPoP (RFC 9449) sender-constrained tokens, checked by `verifyRequest()`. */
  dpop?: DpopOptions;
}

export interface DpopOptions {
  /** Refuse tokens that are not DPoP-bound (this API accepts sender-constrained tokens only). Default false. */
  required?: boolean;
  /** Proof algorithms accepted. Default ES256, ES384, ES512, EdDSA, Ed25519, RS256, PS256. */
  algorithms?: readonly string[];
  /** Seconds a proof is accepted after its `iat`. Default 60. */
  window?: number;
  /** Most proof `jti`s remembered for replay detection (memory bound). Default 100 000. */
  maxReplayEntries?: number;
  /**
   * Require a nonce this API issued in every proof (RFC 9449 §9): a proof without one, or with an
   * old or foreign one, is answered 401 `use_dpop_nonce` with a fresh nonce in `DPoP-Nonce`.
   * Nonces are stateless (an HMAC of the time): `true` uses a random secret of this process;
   * replicas of one API give the same `secret` (at least 32 bytes) so each accepts the others'.
   * Default: off.
   */
  nonce?: boolean | DpopNonceOptions;
}

export interface DpopNonceOptions {
  /** The HMAC key, at least 32 bytes (a string is taken as UTF-8). Default: random, per process. */
  secret?: string | Uint8Array;
  /** Seconds a nonce is accepted after it was issued. Default 300. */
  lifetime?: number;
}

export interface ResolvedDpop {
  readonly required: boolean;
  readonly algorithms: readonly string[];
  readonly window: number;
  readonly maxReplayEntries: number;
  readonly nonce: { readonly secret: Uint8Array; readonly lifetime: number } | undefined;
}

export interface RevocationOptions {
  /** The feed URL. Default: `gatehouse_revocation_feed_uri` from discovery. */
  uri?: string;
  /** Milliseconds between two polls of the feed. Default 2 000. */
  pollInterval?: number;
  /**
   * Milliseconds past `pollInterval` during which the last good feed is still used when polls fail
   * (Gatehouse unreachable). Default 300 000 (5 min). After that, `onUnavailable` decides.
   */
  maxStale?: number;
  /**
   * When no fresh enough feed can be had: `'closed'` (default) refuses every token with
   * `ERR_REVOCATION_UNAVAILABLE` (503); `'open'` accepts tokens on their signature and claims alone.
   */
  onUnavailable?: 'closed' | 'open';
}

export interface ResolvedRevocation {
  /** Undefined: from discovery. */
  readonly uri: URL | undefined;
  readonly pollInterval: number;
  readonly maxStale: number;
  readonly onUnavailable: 'closed' | 'open';
}

export interface ResolvedOptions {
  readonly issuer: string;
  readonly audience: string | string[];
  readonly algorithms: AsymmetricAlgorithm[];
  readonly clockTolerance: number;
  readonly requiredScopes: readonly string[];
  readonly realm: string | undefined;
  readonly jwksUri: URL | undefined;
  readonly cacheMaxAge: number;
  readonly cooldownDuration: number;
  readonly staleIfError: number;
  readonly timeoutDuration: number;
  readonly fetch: typeof fetch;
  readonly clock: { now(): Date } | undefined;
  /** `false`: off. Otherwise on, with the feed from `uri` or, when discovery advertises one, from there. */
  readonly revocation: ResolvedRevocation | false;
  /** Whether the revocation feed was asked for explicitly (then its absence from discovery is an error). */
  readonly revocationRequired: boolean;
  readonly dpop: ResolvedDpop;
}

/** Thrown by `createVerifier` for bad options, naming every problem at once (a programming error). */
export class VerifierOptionsError extends TypeError {
  readonly code = 'ERR_VERIFIER_OPTIONS';
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(`Invalid verifier options:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'VerifierOptionsError';
    this.problems = Object.freeze([...problems]);
  }
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), safe inside a quoted challenge.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
// RFC 9110 quoted-string without quote, backslash or control characters.
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value);
}

const httpUrl = (value: unknown): URL | undefined => {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  return url && (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash ? url : undefined;
};

const duration = (problems: string[], name: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) problems.push(`${name}: must be a non-negative number of milliseconds`);
  return value as number;
};

export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  const o = (options ?? {}) as Partial<VerifierOptions>;
  const problems: string[] = [];

  if (!httpUrl(o.issuer)) problems.push('issuer: must be the http(s) issuer URL, e.g. https://id.example.com');
  const audiences = typeof o.audience === 'string' ? [o.audience] : Array.isArray(o.audience) ? [...o.audience] : [];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    problems.push("audience: must be this API's audience (a non-empty string, or a list of them)");
  }

  const algorithms = o.algorithms === undefined ? ['ES256' as const] : [...o.algorithms];
  if (algorithms.length === 0) problems.push('algorithms: must list at least one algorithm');
  for (const alg of algorithms) {
    if (!ASYMMETRIC.has(alg)) problems.push(`algorithms: ${String(alg)} is not accepted (only ${[...ASYMMETRIC].join(', ')}; never none or HS*)`);
  }

  const clockTolerance = o.clockTolerance ?? 5;
  if (typeof clockTolerance !== 'number' || !Number.isFinite(clockTolerance) || clockTolerance < 0) {
    problems.push('clockTolerance: must be a non-negative number of seconds');
  }

  const scopes = typeof o.requiredScopes === 'string' ? o.requiredScopes.split(' ').filter(Boolean) : [...(o.requiredScopes ?? [])];
  for (const s of scopes) if (!isScopeToken(s)) problems.push(`requiredScopes: ${JSON.stringify(s)} is not a scope token (RFC 6749 §3.3)`);

  if (o.realm !== undefined && !(typeof o.realm === 'string' && REALM.test(o.realm))) {
    problems.push('realm: must be printable ASCII without quotes or backslashes');
  }
  const jwksUri = o.jwksUri === undefined ? undefined : httpUrl(o.jwksUri);
  if (o.jwksUri !== undefined && !jwksUri) problems.push('jwksUri: must be an http(s) URL');

  const cacheMaxAge = duration(problems, 'cacheMaxAge', o.cacheMaxAge, 600_000);
  const cooldownDuration = duration(problems, 'cooldownDuration', o.cooldownDuration, 30_000);
  const staleIfError = duration(problems, 'staleIfError', o.staleIfError, 3_600_000);
  const timeoutDuration = duration(problems, 'timeoutDuration', o.timeoutDuration, 5_000);
  if (o.fetch !== undefined && typeof o.fetch !== 'function') problems.push('fetch: must be a function');
  if (o.clock !== undefined && typeof o.clock?.now !== 'function') problems.push('clock: must have a now() method returning a Date');

  const revocation = resolveRevocation(problems, o.revocation, jwksUri !== undefined);
  const dpop = resolveDpop(problems, o.dpop);

  if (problems.length > 0) throw new VerifierOptionsError(problems);
  return Object.freeze({
    issuer: o.issuer!,
    audience: audiences.length === 1 ? audiences[0]! : audiences,
    algorithms: algorithms as AsymmetricAlgorithm[],
    clockTolerance,
    requiredScopes: Object.freeze(scopes),
    realm: o.realm,
    jwksUri,
    cacheMaxAge,
    cooldownDuration,
    staleIfError,
    timeoutDuration: Math.round(timeoutDuration),
    fetch: o.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args)),
    clock: o.clock,
    revocation: revocation.resolved,
    revocationRequired: revocation.required,
    dpop,
  });
}

const DPOP_DEFAULT_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'PS256'];

function resolveDpop(problems: string[], value: unknown): ResolvedDpop {
  if (value !== undefined && (typeof value !== 'object' || value === null)) problems.push('dpop: must be an object { required?, algorithms?, window?, maxReplayEntries?, nonce? }');
  const d = (value ?? {}) as DpopOptions;
  const algorithms = d.algorithms === undefined ? DPOP_DEFAULT_ALGS : [...d.algorithms];
  for (const alg of algorithms) if (!ASYMMETRIC.has(alg)) problems.push(`dpop.algorithms: ${String(alg)} is not accepted (asymmetric algorithms only)`);
  if (algorithms.length === 0) problems.push('dpop.algorithms: must list at least one algorithm');
  const window = d.window ?? 60;
  if (typeof window !== 'number' || !Number.isFinite(window) || window <= 0) problems.push('dpop.window: must be a positive number of seconds');
  const maxReplayEntries = d.maxReplayEntries ?? 100_000;
  if (!Number.isSafeInteger(maxReplayEntries) || maxReplayEntries < 1) problems.push('dpop.maxReplayEntries: must be a positive integer');
  if (d.required !== undefined && typeof d.required !== 'boolean') problems.push('dpop.required: must be a boolean');
  return Object.freeze({ required: d.required === true, algorithms: Object.freeze(algorithms), window, maxReplayEntries, nonce: resolveNonce(problems, d.nonce) });
}

function resolveNonce(problems: string[], value: unknown): ResolvedDpop['nonce'] {
  if (value === undefined || value === false) return undefined;
  if (value !== true && (typeof value !== 'object' || value === null)) {
    problems.push('dpop.nonce: must be true, false or an object { secret?, lifetime? }');
    return undefined;
  }
  const n = (value === true ? {} : value) as DpopNonceOptions;
  let secret: Uint8Array = randomBytes(32);
  if (n.secret !== undefined) {
    if (typeof n.secret === 'string') secret = new TextEncoder().encode(n.secret);
    else if (n.secret instanceof Uint8Array) secret = new Uint8Array(n.secret);
    else problems.push('dpop.nonce.secret: must be a string or a Uint8Array');
    if (secret.byteLength < 32) problems.push('dpop.nonce.secret: must be at least 32 bytes');
  }
  const lifetime = n.lifetime ?? 300;
  if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0) problems.push('dpop.nonce.lifetime: must be a positive number of seconds');
  return Object.freeze({ secret, lifetime });
}

function resolveRevocation(problems: string[], value: unknown, noDiscovery: boolean): { resolved: ResolvedRevocation | false; required: boolean } {
  if (value === false) return { resolved: false, required: false };
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    problems.push('revocation: must be false or an object { uri?, pollInterval?, maxStale?, onUnavailable? }');
    return { resolved: false, required: false };
  }
  const r = (value ?? {}) as RevocationOptions;
  const uri = r.uri === undefined ? undefined : httpUrl(r.uri);
  if (r.uri !== undefined && !uri) problems.push('revocation.uri: must be an http(s) URL');
  const pollInterval = duration(problems, 'revocation.pollInterval', r.pollInterval, 2_000);
  if (typeof pollInterval === 'number' && pollInterval < 100) problems.push('revocation.pollInterval: must be at least 100 milliseconds');
  const maxStale = duration(problems, 'revocation.maxStale', r.maxStale, 300_000);
  const onUnavailable = r.onUnavailable ?? 'closed';
  if (onUnavailable !== 'closed' && onUnavailable !== 'open') problems.push("revocation.onUnavailable: must be 'closed' or 'open'");
  // With jwksUri and no feed URL there is no discovery to find the feed in: off unless asked for.
  if (value === undefined && noDiscovery) return { resolved: false, required: false };
  return { resolved: Object.freeze({ uri, pollInterval, maxStale, onUnavailable }), required: value !== undefined };
}
