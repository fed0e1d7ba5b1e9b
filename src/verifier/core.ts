/**
 * The verifier without any framework: the entry point `.` of the `@gatehouse/verifier` package
 * (packages/verifier), for any Node.js service. It depends on jose only.
 *
 * ```ts
 * import { createVerifier } from '@gatehouse/verifier';
 * const verifier = createVerifier({ issuer: 'https://id.example.com', audience: 'https://shop.example.com' });
 * const claims = await verifier.verify(request.headers.authorization, ['payments:write']);
 * ```
 */
export { createVerifier, type Verifier, type VerifiableRequest } from './create-verifier.js';
export { VerifierError, isVerifierError, type VerifierErrorCode, type BearerErrorCode } from './errors.js';
export { VerifierOptionsError, type VerifierOptions, type RevocationOptions, type DpopOptions, type DpopNonceOptions, type AsymmetricAlgorithm } from './options.js';
export { hasScope, scopesOf, type AccessTokenClaims } from './claims.js';
