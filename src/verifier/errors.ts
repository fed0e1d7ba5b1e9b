/**
 * One family of errors with stable codes. Every reason `verify()` can refuse a request is one code
 * here, with the HTTP status and the `WWW-Authenticate` challenge (RFC 6750 §3) that answer it, so a
 * service in any framework maps a failure to a response in three lines:
 *
 * ```ts
 * res.statusCode = err.status;
 * if (err.wwwAuthenticate) res.setHeader('www-authenticate', err.wwwAuthenticate);
 * if (err.dpopNonce) res.setHeader('dpop-nonce', err.dpopNonce);
 * res.end(JSON.stringify({ error: err.error, error_description: err.message, code: err.code }));
 * ```
 *
 * `message` is a fixed, safe sentence: never a token, a claim value or a library message.
 */
export type VerifierErrorCode =
  | 'ERR_TOKEN_MISSING'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_ALGORITHM'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_ISSUER'
  | 'ERR_TOKEN_AUDIENCE'
  | 'ERR_TOKEN_TYPE'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_TOKEN_NOT_BOUND'
  | 'ERR_DPOP_REQUIRED'
  | 'ERR_DPOP_PROOF_INVALID'
  | 'ERR_DPOP_PROOF_REPLAYED'
  | 'ERR_DPOP_KEY_MISMATCH'
  | 'ERR_DPOP_NONCE_REQUIRED'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_KEYS_UNAVAILABLE'
  | 'ERR_REVOCATION_UNAVAILABLE';

/** The RFC 6750 §3.1 error code (`undefined` when the request carried no token at all). */
export type BearerErrorCode = 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable' | 'invalid_dpop_proof' | 'use_dpop_nonce';

/** `dpop`: answered with a `DPoP` challenge (RFC 9449 §7.1) naming the accepted proof algorithms. */
type Entry = { status: 401 | 403 | 503; error: BearerErrorCode | undefined; message: string; dpop?: true };

// error_description is restricted to %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3): no quote, no backslash.
const CATALOGUE: Record<VerifierErrorCode, Entry> = {
  ERR_TOKEN_MISSING: { status: 401, error: undefined, message: 'An access token is required' },
  ERR_TOKEN_MALFORMED: { status: 401, error: 'invalid_token', message: 'The access token is malformed' },
  ERR_TOKEN_ALGORITHM: { status: 401, error: 'invalid_token', message: 'The access token uses a signing algorithm this API does not accept' },
  ERR_TOKEN_SIGNATURE: { status: 401, error: 'invalid_token', message: 'The access token signature is invalid' },
  ERR_TOKEN_EXPIRED: { status: 401, error: 'invalid_token', message: 'The access token expired' },
  ERR_TOKEN_NOT_YET_VALID: { status: 401, error: 'invalid_token', message: 'The access token is not valid yet' },
  ERR_TOKEN_ISSUER: { status: 401, error: 'invalid_token', message: 'The access token comes from another issuer' },
  ERR_TOKEN_AUDIENCE: { status: 401, error: 'invalid_token', message: 'The access token is not meant for this API' },
  ERR_TOKEN_TYPE: { status: 401, error: 'invalid_token', message: 'The token is not an access token' },
  ERR_TOKEN_REVOKED: { status: 401, error: 'invalid_token', message: 'The access token has been revoked' },
  ERR_TOKEN_NOT_BOUND: { status: 401, error: 'invalid_token', message: 'The access token is not bound to a DPoP key', dpop: true },
  ERR_DPOP_REQUIRED: { status: 401, error: 'invalid_token', message: 'A DPoP-bound access token with its DPoP proof is required', dpop: true },
  ERR_DPOP_PROOF_INVALID: { status: 401, error: 'invalid_dpop_proof', message: 'The DPoP proof is invalid for this request', dpop: true },
  ERR_DPOP_PROOF_REPLAYED: { status: 401, error: 'invalid_dpop_proof', message: 'The DPoP proof has been used before', dpop: true },
  ERR_DPOP_KEY_MISMATCH: { status: 401, error: 'invalid_token', message: 'The access token is bound to another key', dpop: true },
  // RFC 9449 §9: the proof must carry the nonce sent with this answer (VerifierError.dpopNonce).
  ERR_DPOP_NONCE_REQUIRED: { status: 401, error: 'use_dpop_nonce', message: 'The DPoP proof must carry the nonce in the DPoP-Nonce header', dpop: true },
  ERR_INSUFFICIENT_SCOPE: { status: 403, error: 'insufficient_scope', message: 'The access token lacks a required scope' },
  // Not the token's fault: the client must not be told to get a new one.
  ERR_KEYS_UNAVAILABLE: { status: 503, error: 'temporarily_unavailable', message: 'The signing keys cannot be fetched; try again later' },
  // The revocation feed has been unreachable for longer than allowed and the verifier fails closed.
  ERR_REVOCATION_UNAVAILABLE: { status: 503, error: 'temporarily_unavailable', message: 'The revocation list cannot be fetched; try again later' },
};

export class VerifierError extends Error {
  readonly code: VerifierErrorCode;
  /** 401 (no usable token), 403 (valid token, missing scope) or 503 (keys or revocation feed unreachable, not the token's fault). */
  readonly status: 401 | 403 | 503;
  /** RFC 6750 error code, for a JSON body (`undefined` for a missing token, as RFC 6750 §3 asks). */
  readonly error: BearerErrorCode | undefined;
  /** The `WWW-Authenticate` header value for a 401/403; `undefined` for a 503. */
  readonly wwwAuthenticate: string | undefined;
  /** For `ERR_DPOP_NONCE_REQUIRED`: a fresh nonce, to send in the `DPoP-Nonce` header (RFC 9449 §9). */
  readonly dpopNonce: string | undefined;

  constructor(code: VerifierErrorCode, wwwAuthenticate: string | undefined, options?: { cause?: unknown; dpopNonce?: string }) {
    const entry = CATALOGUE[code];
    super(entry.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VerifierError';
    this.code = code;
    this.status = entry.status;
    this.error = entry.error;
    this.wwwAuthenticate = wwwAuthenticate;
    this.dpopNonce = options?.dpopNonce;
  }
}

/** Builds the coded errors of one verifier, whose challenges carry its realm. */
export interface ErrorFactory {
  (code: Exclude<VerifierErrorCode, 'ERR_INSUFFICIENT_SCOPE'>, cause?: unknown): VerifierError;
  /** 403 naming every scope the route needs (RFC 6750 §3: the `scope` attribute). */
  insufficientScope(required: readonly string[]): VerifierError;
}

export function createErrorFactory(realm: string | undefined, dpopAlgs: readonly string[] = []): ErrorFactory {
  const prefix = (scheme: string) => (realm === undefined ? scheme : `${scheme} realm="${realm}"`);
  const challenge = (code: VerifierErrorCode, extra = '') => {
    const { error, message, dpop } = CATALOGUE[code];
    const scheme = dpop ? 'DPoP' : 'Bearer';
    // RFC 6750 §3: no error code when the request lacked any authentication information.
    if (error === undefined) return prefix(scheme);
    const algs = dpop && dpopAlgs.length > 0 ? `, algs="${dpopAlgs.join(' ')}"` : '';
    return `${prefix(scheme)}${realm === undefined ? ' ' : ', '}error="${error}", error_description="${message}"${extra}${algs}`;
  };
  const make = ((code, cause) =>
    new VerifierError(code, CATALOGUE[code].status === 503 ? undefined : challenge(code), cause === undefined ? undefined : { cause })) as ErrorFactory;
  make.insufficientScope = (required) =>
    new VerifierError('ERR_INSUFFICIENT_SCOPE', challenge('ERR_INSUFFICIENT_SCOPE', `, scope="${required.join(' ')}"`));
  return make;
}

export function isVerifierError(error: unknown): error is VerifierError {
  return error instanceof VerifierError;
}
