import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redactUrl, type Logger } from '../../observability/logger.js';
import { methodLabel } from '../../observability/metric-labels.js';
import type { Metrics } from '../../observability/metrics.js';
import { REQUEST_ID_HEADER } from '../request-id.js';

/** The request id on every answer; one access-log line per request, with credential-bearing query values redacted, and the request
 * metrics (labelled by route pattern, never by raw URL, and by a closed set of methods). */
export const requestLogPlugin = fp(async function requestLog(app: FastifyInstance, options: { metrics?: Metrics }) {
  // The access line's fields are fixed, and none carries a credential (the URL's are redacted
  // below): it is written by a logger without the redaction list. With it, every field of every
  // line went through the list's wildcard paths (`*.password`, ...), a walk per field on every request.
  // The request id, a binding of fastify's per-request logger, is a field here; whether the line is
  // written is still that logger's (and so the route's) level.
  const access = app.log.child({}, { redact: [], level: 'trace' });
  // On the raw response, so the engine's answers (written without fastify's reply) carry it too.
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    // A route is one of our registered patterns; a request no route matched (a 404, whatever its
    // path) is `unmatched`, never its raw URL.
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    options.metrics?.httpRequests.inc({ method: methodLabel(request.method), route, status: String(reply.statusCode) });
    options.metrics?.httpDuration.observe({ route }, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    if (!(request.log as Logger).isLevelEnabled(level)) return;
    access[level](
      {
        reqId: request.id,
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
