import { errors } from 'jose';
import type { ErrorFactory, VerifierError } from './errors.js';

/**
 * jose's verdict on a token, as our codes. jose's codes and `claim` names are its stable API
 * (jose `util/errors`); the messages are not and never reach a client.
 */
export function fromJoseError(err: unknown, fail: ErrorFactory): VerifierError | undefined {
  if (!(err instanceof errors.JOSEError)) return undefined;
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return fail('ERR_TOKEN_EXPIRED');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return fail('ERR_TOKEN_ALGORITHM');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return fail('ERR_TOKEN_SIGNATURE');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as errors.JWTClaimValidationFailed;
      if (reason === 'check_failed') {
        if (claim === 'typ') return fail('ERR_TOKEN_TYPE');
        if (claim === 'iss') return fail('ERR_TOKEN_ISSUER');
        if (claim === 'aud') return fail('ERR_TOKEN_AUDIENCE');
        if (claim === 'nbf') return fail('ERR_TOKEN_NOT_YET_VALID');
      }
      return fail('ERR_TOKEN_MALFORMED');
    }
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, ERR_JOSE_NOT_SUPPORTED (unknown `crit`), ...: not a token we can read.
      return fail('ERR_TOKEN_MALFORMED');
  }
}
