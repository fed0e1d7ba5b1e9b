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
    // A browser gets a page, a machine JSON: for a ban, and for a ban list that cannot be read (the
    // database is down: 503, failing closed).
    const answer = (error: unknown) => ((request.headers.accept ?? '').includes('text/html') ? sendErrorPage(request, reply, error) : sendError(request, reply, error));
    let refusal: Awaited<ReturnType<LoginGuard['ipBan']>>;
    try {
      refusal = await options.guard.ipBan(request.ip);
    } catch (err) {
      return answer(err);
    }
    if (!refusal) return;
    return answer(new AppError('access_denied', 'Requests from this network are blocked.'));
  });
});
