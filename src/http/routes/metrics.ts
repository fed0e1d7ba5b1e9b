import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { constantTimeEqual } from '../../lib/digest.js';
import type { Metrics } from '../../observability/metrics.js';
import { readBearerHeader } from '../../verifier/authorization-header.js';
import { jsonErrors } from '../schemas.js';

const CHALLENGE = 'Bearer realm="gatehouse-metrics"';

/**
 * Prometheus text format. Like /healthz, meant for the operator's network; with METRICS_TOKEN set, only
 * a scraper presenting that bearer token reads it (compared in constant time). IP bans apply.
 */
export function metricsRoutes(metrics: Metrics, token: string | null) {
  const authorize = async (request: FastifyRequest) => {
    if (token === null) return;
    // The verifier library's parser: RFC 6750 §2.1, the scheme in any case (RFC 9110 §11.1).
    const presented = readBearerHeader(request.headers.authorization);
    if (!constantTimeEqual(presented.kind === 'token' ? presented.token : '', token)) {
      throw new AppError('invalid_token', 'the metrics token is missing or wrong (Authorization: Bearer <METRICS_TOKEN>)', {
        headers: { 'www-authenticate': CHALLENGE },
      });
    }
  };
  return async function routes(app: FastifyInstance): Promise<void> {
    // The text format is a string: sent as it is, with the registry's content type.
    const schema = { response: { 200: Type.String({ description: 'Prometheus text exposition format' }), ...jsonErrors } };
    app.get('/metrics', { logLevel: 'warn', preHandler: authorize, schema }, async (_request, reply) =>
      reply.type(metrics.registry.contentType).header('cache-control', 'no-store').send(await metrics.render()),
    );
  };
}
