import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Headers for every HTML page we render (SECURITY.md): no caching, no framing, no referrer, a strict
 * CSP (our pages use no script at all).
 */
export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

export const pageHeadersPlugin = fp(async function pageHeaders(app: FastifyInstance) {
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) reply.headers(PAGE_HEADERS);
    else reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
});
