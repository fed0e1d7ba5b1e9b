import type { FastifyInstance } from 'fastify';

/** A named dependency that must answer for the instance to take traffic. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
} as const;

const unavailableSchema = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/**
 * `/healthz`: the process is alive (never touches a dependency, so a database outage does not get
 * the instance restarted). `/readyz`: every dependency answers right now; checked on each request.
 */
export function healthRoutes(checks: readonly ReadinessCheck[]) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/healthz', { schema: { response: { 200: statusSchema } }, logLevel: 'warn' }, async (_req, reply) => {
      reply.header('cache-control', 'no-store');
      return { status: 'ok' };
    });

    app.get('/readyz', { schema: { response: { 200: statusSchema, 503: unavailableSchema } }, logLevel: 'warn' }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const results = await Promise.all(
        checks.map(async (c) => {
          try {
            await c.check();
            return [c.name, 'ok'] as const;
          } catch (err) {
            return [c.name, describe(err)] as const;
          }
        }),
      );
      const failed = results.filter(([, state]) => state !== 'ok');
      const summary = Object.fromEntries(results);
      if (failed.length === 0) return { status: 'ready', checks: summary };
      request.log.warn({ checks: summary }, 'not ready');
      return reply.code(503).send({
        error: 'temporarily_unavailable',
        error_description: failed.map(([name, state]) => `${name}: ${state}`).join('; '),
        checks: summary,
      });
    });
  };
}

/** A short, non-sensitive reason (no connection strings, no stack). */
function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = e?.code && /^[A-Z_0-9]+$/.test(e.code) ? e.code : (e?.message ?? 'unavailable');
  return text.split('\n')[0]!.replace(/postgres(ql)?:\/\/\S+/gi, '[database url]').slice(0, 200);
}
