import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderHost } from '../../oidc/provider-host.js';

/**
 * The protocol engine's endpoints, and only those, are handed to oidc-provider untouched: fastify
 * neither routes anything else there nor parses these bodies (the engine reads the raw stream for
 * client authentication). Everything else (pages, account API, admin, health) stays with fastify.
 */
export const PROVIDER_PATHS = [
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/auth',
  '/auth/:uid',
  '/token',
  '/jwks',
  '/me',
  '/token/introspection',
  '/token/revocation',
  '/session/end',
  '/session/end/confirm',
  '/session/end/success',
  '/device/auth',
  '/device',
  '/device/:uid',
  '/request',
] as const;

const QUIET = new Set<string>(['/jwks', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'] as const;

export function oidcMount(host: ProviderHost, options: { issuer: string }) {
  const issuer = new URL(options.issuer);
  return async function mount(app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    // koa composes its middleware on every callback() call: build each engine's handler once.
    const handlers = new WeakMap<object, (req: IncomingMessage, res: ServerResponse) => Promise<void>>();
    const handlerFor = (provider: ReturnType<ProviderHost['current']>) => {
      let h = handlers.get(provider);
      if (!h) handlers.set(provider, (h = provider.callback() as never));
      return h;
    };
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      pinOrigin(request, issuer);
      reply.hijack();
      await handlerFor(host.current())(request.raw, reply.raw);
    };
    // Machine polling (resource servers fetching keys and metadata) is logged only when it fails.
    for (const path of PROVIDER_PATHS) app.all(path, { logLevel: QUIET.has(path) ? 'warn' : 'info' }, handler);
  };
}

/**
 * The engine builds every URL it hands out (discovery, device verification URIs, the logout form,
 * redirects to our pages) from the request's Host and, behind a proxy, X-Forwarded-Host/-Proto. We
 * never let a caller choose them: the engine (koa with proxy on) is told exactly one hop, with the
 * issuer's host and protocol, and the client address fastify decided with TRUST_PROXY. Whatever Host
 * or X-Forwarded-Host arrived (absent, malformed or someone else's), the URLs are ISSUER's.
 */
function pinOrigin(request: FastifyRequest, issuer: URL): void {
  // Read first: fastify works the client address out of X-Forwarded-For on demand, and the loop
  // below deletes that header (read after it, every proxied client became the proxy's address).
  const clientIp = request.ip;
  const headers = request.raw.headers;
  for (const name of FORWARDED) delete headers[name];
  headers.host = issuer.host;
  headers['x-forwarded-host'] = issuer.host;
  headers['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
  headers['x-forwarded-for'] = clientIp;
}
