import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { FORM_ACTION_SELF, formActionSource, widenFormAction } from '../../lib/form-action.js';
import type { Brand, Presentation } from '../../rendering/presentation.js';
import '../views/page.js';

/**
 * Headers for every HTML page we render: no caching, no framing, no referrer, a strict CSP (forms post
 * to our own origin only; the one script is our own file, /assets/passkeys.js, which fetches WebAuthn
 * options from our own origin: 'self' for scripts and connections, never inline).
 */
export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': `default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; ${FORM_ACTION_SELF}; frame-ancestors 'none'`,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

const formTargets = new WeakMap<FastifyReply, string>();

/**
 * This page's form ends, after our own redirects, at `uri` (an authorization request's redirect_uri,
 * already validated by the engine): allow its origin in this response's `form-action`.
 */
export function allowFormTarget(reply: FastifyReply, uri: string | undefined): void {
  const source = formActionSource(uri);
  if (source) formTargets.set(reply, source);
}

/** Also makes the pages' templates and words reachable from every route (`app.presentation`, views/page.ts). */
export const pageHeadersPlugin = fp(async function pageHeaders(app: FastifyInstance, options: { brand: Brand; presentation: Presentation }) {
  const { brand } = options;
  app.decorate('presentation', options.presentation);
  // A logo from another origin must be allowed to load (img-src).
  const logoOrigin = brand.logoUrl ? new URL(brand.logoUrl).origin : undefined;
  const withLogo = (csp: string) => (logoOrigin ? csp.replace("img-src 'self'", `img-src 'self' ${logoOrigin}`) : csp);
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      reply.headers(PAGE_HEADERS);
      reply.header('content-security-policy', withLogo(widenFormAction(PAGE_HEADERS['content-security-policy'], [formTargets.get(reply)])));
    } else {
      reply.header('x-content-type-options', 'nosniff');
    }
    return payload;
  });
});
