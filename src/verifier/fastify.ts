/**
 * The fastify plugin: the entry point `./fastify` of the `@gatehouse/verifier` package. It imports
 * fastify's types only, so the package needs nothing but jose at run time (fastify is an optional
 * peer dependency: the application brings its own).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AccessTokenClaims } from './claims.js';
import { createVerifier, type Verifier } from './create-verifier.js';
import { isVerifierError, type VerifierError } from './errors.js';
import { isScopeToken, VerifierOptionsError, type VerifierOptions } from './options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token's claims on routes guarded by `requireToken()`/`requireScope()`; `null` elsewhere. */
    auth: AccessTokenClaims | null;
  }
  interface FastifyInstance {
    gatehouseVerifier: Verifier;
  }
}

/** Verifier options, or a verifier already built (to share one key cache between several apps). */
export type GatehouseAuthOptions = VerifierOptions | { verifier: Verifier };

/**
 * The fastify plugin: registers the verifier on the instance and `request.auth` (null until a guard
 * runs). Routes opt in with `onRequest: requireToken()` or `onRequest: requireScope('x')`; routes
 * without a guard stay public and never look at the `Authorization` header.
 */
export const gatehouseAuth: FastifyPluginAsync<GatehouseAuthOptions> = Object.assign(
  async function gatehouseAuth(app: FastifyInstance, options: GatehouseAuthOptions) {
    const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
    app.decorate('gatehouseVerifier', verifier);
    // A verifier built here polls the revocation feed until the app closes; a shared one is its owner's.
    if (!('verifier' in options)) app.addHook('onClose', async () => verifier.close());
    app.decorateRequest('auth', null);
  },
  // What fastify-plugin would set, written out to keep the package free of it. `skip-override`: the
  // decorators land in the scope that registers the plugin, so its routes (and its children's) see
  // them; `plugin-meta`: fastify checks the supported version range at registration.
  {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'gatehouse-auth',
    [Symbol.for('plugin-meta')]: { name: 'gatehouse-auth', fastify: '5.x' },
  },
);

/** A hook that lets through requests with a valid access token (any scope) and sets `request.auth`. */
export function requireToken(): onRequestAsyncHookHandler {
  return guard([]);
}

/**
 * A hook that lets through requests whose valid access token carries every scope given, sets
 * `request.auth`, and answers 401/403 otherwise. Use it as `onRequest` so an unauthenticated request
 * is refused before its body is read.
 */
export function requireScope(scope: string, ...more: string[]): onRequestAsyncHookHandler {
  const scopes = [scope, ...more];
  const bad = scopes.filter((s) => !isScopeToken(s));
  if (bad.length > 0) throw new VerifierOptionsError(bad.map((s) => `requireScope: ${JSON.stringify(s)} is not a scope token (RFC 6749 §3.3)`));
  return guard(Object.freeze(scopes));
}

function guard(scopes: readonly string[]): onRequestAsyncHookHandler {
  return async function verifyRequest(request: FastifyRequest, reply: FastifyReply) {
    const verifier = request.server.gatehouseVerifier;
    if (!verifier) throw new Error('requireToken()/requireScope() need the gatehouseAuth plugin registered first');
    try {
      // The URL the client called, as fastify sees it (protocol and host from X-Forwarded-* only with
      // trustProxy): a DPoP proof names it (htu).
      const url = `${request.protocol}://${request.host}${request.url}`;
      request.auth = await verifier.verifyRequest({ method: request.method, url, headers: request.headers as { authorization?: string; dpop?: string } }, scopes);
    } catch (err) {
      if (!isVerifierError(err)) throw err;
      return sendVerifierError(request, reply, err);
    }
  };
}

/**
 * The one place a refusal becomes a response: the status, the RFC 6750 challenge, and a JSON body
 * `{ error, error_description, code }` (the description is a fixed sentence, never token content).
 */
export function sendVerifierError(request: FastifyRequest, reply: FastifyReply, err: VerifierError): FastifyReply {
  if (err.status === 503) request.log.warn({ code: err.code, err: err.cause }, 'cannot verify access tokens: signing keys unavailable');
  else request.log.debug({ code: err.code }, 'access token refused');
  if (err.wwwAuthenticate) reply.header('www-authenticate', err.wwwAuthenticate);
  if (err.dpopNonce) reply.header('dpop-nonce', err.dpopNonce);
  return reply
    .code(err.status)
    .header('cache-control', 'no-store')
    .send({ error: err.error ?? 'unauthorized', error_description: err.message, code: err.code });
}
