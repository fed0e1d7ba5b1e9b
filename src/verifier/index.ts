/**
 * `gatehouse/verifier`: verify Gatehouse access tokens offline in any Node.js service, plus a fastify
 * plugin. The same code is published on its own as `@gatehouse/verifier` (entry points `.` and
 * `./fastify`, see packages/verifier), so a resource server need not install Gatehouse. Depends on jose
 * only; the plugin uses fastify's types, never fastify itself at run time.
 *
 * ```ts
 * import { createVerifier } from 'gatehouse/verifier';
 * const verifier = createVerifier({ issuer: 'https://id.example.com', audience: 'https://shop.example.com' });
 * const claims = await verifier.verify(request.headers.authorization, ['payments:write']);
 * ```
 */
export * from './core.js';
export { gatehouseAuth, requireToken, requireScope, sendVerifierError, type GatehouseAuthOptions } from './fastify.js';
