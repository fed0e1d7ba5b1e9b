import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../accounts/account-deps.js';
import { pageLocale } from './views/page.js';

/**
 * Where a request came from, for the audit log: the client IP as TRUST_PROXY allows, and the user
 * agent; and the language of its page, which mails it causes are written in (`uiLocales`: the
 * authorization request's, on the sign-in pages).
 */
export const requestContext = (request: FastifyRequest, uiLocales?: string | null): RequestContext => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'] ?? null,
  locale: pageLocale(request, uiLocales),
});
