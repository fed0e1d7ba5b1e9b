/**
 * `gatehouse/verifier`: verify Gatehouse access tokens offline in any Node.js service, plus a fastify
 * plugin. Depends on jose only (and on fastify-plugin for the plugin).
 *
 * ```ts
 * import { createVerifier } from 'gatehouse/verifier';
 * const verifier = createVerifier({ issuer: 'https://id.example.com', audience: 'https://shop.example.com' });
 * const claims = await verifier.verify(request.headers.authorization, ['payments:write']);
 * ```
 */
export { createVerifier, type Verifier } from './create-verifier.js';
export { VerifierError, isVerifierError, type VerifierErrorCode, type BearerErrorCode } from './errors.js';
export { VerifierOptionsError, type VerifierOptions, type AsymmetricAlgorithm } from './options.js';
export { hasScope, scopesOf, type AccessTokenClaims } from './claims.js';
export { gatehouseAuth, requireToken, requireScope, sendVerifierError, type GatehouseAuthOptions } from './fastify.js';
