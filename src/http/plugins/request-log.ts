import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redactUrl } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';

/** One access-log line per request, with credential-bearing query values redacted, and the request
 * metrics (labelled by route pattern, never by raw URL). */
export const requestLogPlugin = fp(async function requestLog(app: FastifyInstance, options: { metrics?: Metrics }) {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics?.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    options.metrics?.httpDuration.observe({ route }, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    if (request.routeOptions.logLevel === 'warn' && reply.statusCode < 400) return;
    request.log[level](
      {
        method: request.method,
        url: redactUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ip: request.ip,
      },
      'request',
    );
  });
});
