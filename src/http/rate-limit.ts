import type { FastifyRequest } from 'fastify';
import type { LoginGuard } from '../guard/login-guard.js';
import { AppError, tooManyRequests } from '../errors.js';
import type { AuditLog } from '../observability/audit.js';
import { throttleLabel } from '../observability/metric-labels.js';
import type { Metrics } from '../observability/metrics.js';
import { requestContext } from './request-context.js';

export interface RateLimitDeps {
  guard: LoginGuard;
  audit: AuditLog;
  metrics: Metrics;
}

/**
 * A preHandler limiting signups or password-reset requests per IP (IP_SIGNUP_LIMIT, IP_RESET_LIMIT
 * per IP_WINDOW): over the limit the IP waits IP_BLOCK, answered 429 with Retry-After as JSON or as
 * a page, by the route's error handler.
 */
export function rateLimit(kind: 'signup' | 'reset', deps: RateLimitDeps) {
  return async function limitPerIp(request: FastifyRequest): Promise<void> {
    const decision = await deps.guard.admitRate(kind, request.ip);
    if (decision.ok) return;
    const { refusal } = decision;
    deps.metrics.throttles.inc({ reason: throttleLabel(`${kind}_${refusal.reason}`) });
    if (refusal.started) {
      await deps.audit.record({ type: 'ip.blocked', ...requestContext(request), detail: { reason: `${kind} limit`, retry_after: refusal.retryAfter } });
    }
    if (refusal.reason === 'ip_banned') throw new AppError('access_denied', 'Requests from this network are blocked.');
    throw tooManyRequests(`Too many requests from this network; try again in ${refusal.retryAfter} seconds.`, refusal.retryAfter);
  };
}
