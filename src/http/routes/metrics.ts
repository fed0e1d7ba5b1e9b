import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';

/** Prometheus text format. Like /healthz, meant for the operator's network, not the internet. */
export function metricsRoutes(metrics: Metrics) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) =>
      reply.type(metrics.registry.contentType).header('cache-control', 'no-store').send(await metrics.registry.metrics()),
    );
  };
}
