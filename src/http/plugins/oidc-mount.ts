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
/** Answers that depend on nothing in the request (the origin is pinned to ISSUER below). */
const DOCUMENTS = QUIET;

interface Document {
  headers: Record<string, string | number | string[]>;
  body: Buffer;
}

/**
 * Runs the engine on the response and returns what it wrote (its status 200, the headers it added
 * and the body), or undefined when the answer was anything else. Our own headers (request id,
 * security headers), set on the response before the engine ran, are left out: they are written
 * again for every request.
 */
async function capture(res: ServerResponse, run: () => Promise<void>): Promise<Document | undefined> {
  const ours = new Set(res.getHeaderNames());
  const chunks: Buffer[] = [];
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  let whole = true;
  res.write = ((chunk: unknown, ...rest: never[]) => {
    whole = false;
    return write(chunk as never, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: never[]) => {
    if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) chunks.push(Buffer.from(chunk as string));
    else if (chunk !== undefined && typeof chunk !== 'function') whole = false;
    return end(chunk as never, ...rest);
  }) as typeof res.end;
  try {
    await run();
  } finally {
    res.write = write;
    res.end = end;
  }
  if (!whole || res.statusCode !== 200 || chunks.length !== 1) return undefined;
  const headers: Document['headers'] = {};
  // As the engine spelled them (Vary, Content-Type), so a cached answer is byte for byte the first.
  const names = (res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames();
  for (const name of names) if (!ours.has(name.toLowerCase())) headers[name] = res.getHeader(name)!;
  return { headers, body: chunks[0]! };
}

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'] as const;

export function oidcMount(host: ProviderHost, options: { issuer: string; jwksCacheControl(): string }) {
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
    const documents = new WeakMap<object, Map<string, Document>>();
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      pinOrigin(request, issuer);
      reply.hijack();
      const provider = host.current();
      const path = request.url;
      // The keys and the metadata are the same document for everyone until the next key change
      // (a new engine): the engine's own answer is kept and sent again as it was written.
      if (!DOCUMENTS.has(path) || request.method !== 'GET' || request.headers['if-none-match'] !== undefined) {
        return handlerFor(provider)(request.raw, reply.raw);
      }
      let byPath = documents.get(provider);
      if (!byPath) documents.set(provider, (byPath = new Map()));
      const known = byPath.get(path);
      if (known) {
        // The one header that changes with time: the JWKS's max-age shortens before a key change.
        const headers = path === '/jwks' ? { ...known.headers, 'cache-control': options.jwksCacheControl() } : known.headers;
        reply.raw.writeHead(200, headers).end(known.body);
        return;
      }
      const captured = await capture(reply.raw, () => handlerFor(provider)(request.raw, reply.raw));
      if (captured) byPath.set(path, captured);
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
