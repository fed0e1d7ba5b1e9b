import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../errors.js';
import type { LoginGuard } from '../../guard/login-guard.js';
import { sendError, sendErrorPage } from './error-handler.js';

/** Paths an operator's IP ban never blocks: the load balancer's health checks (they reveal nothing).
 * /metrics is not among them: it tells an attacker how the defense is doing. */
const OPEN = new Set(['/healthz', '/readyz']);

/**
 * An operator's IP ban (`gatehouse ips ban`) refuses everything else from that address or range:
 * pages, the account API, and the protocol endpoints (token requests included). The ban list is
 * cached for two seconds per instance.
 */
export const ipBanPlugin = fp(async function ipBan(app: FastifyInstance, options: { guard: LoginGuard }) {
  app.addHook('onRequest', async (request, reply) => {
    if (OPEN.has(request.url.split('?')[0]!)) return;
    const refusal = await options.guard.ipBan(request.ip);
    if (!refusal) return;
    const error = new AppError('access_denied', 'Requests from this network are blocked.', { statusCode: 403 });
    const wantsPage = (request.headers.accept ?? '').includes('text/html');
    return wantsPage ? sendErrorPage(request, reply, error) : sendError(request, reply, error);
  });
});
