import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { jsonErrors } from '../schemas.js';

/**
 * A named dependency that must answer for the instance to take traffic. A check that throws makes the
 * instance unready (503); one that returns a sentence reports a degraded state the instance can still
 * serve through (200, `status: "degraded"`), so every instance sharing a bad file is not pulled out
 * of the load balancer at once.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void | string>;
}

/** Each check's state: "ok", or a short reason. */
const Checks = Type.Record(Type.String(), Type.String());
const Status = Type.Object({ status: Type.String(), checks: Type.Optional(Checks) });
const Unavailable = Type.Object({ error: Type.String(), error_description: Type.String(), checks: Checks });

/**
 * `/healthz`: the process is alive (never touches a dependency, so a database outage does not get
 * the instance restarted). `/readyz`: every dependency answers right now; checked on each request.
 */
export function healthRoutes(checks: readonly ReadinessCheck[]) {
  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.get('/healthz', { schema: { response: { 200: Status, ...jsonErrors } }, logLevel: 'warn' }, async (_req, reply) => {
      reply.header('cache-control', 'no-store');
      return { status: 'ok' };
    });

    app.get('/readyz', { schema: { response: { 200: Status, ...jsonErrors, 503: Unavailable } }, logLevel: 'warn' }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const results = await Promise.all(
        checks.map(async (c) => {
          try {
            const warning = await c.check();
            return [c.name, warning ? describe({ message: warning }) : 'ok', false] as const;
          } catch (err) {
            return [c.name, describe(err), true] as const;
          }
        }),
      );
      const failed = results.filter(([, , fatal]) => fatal);
      const summary = Object.fromEntries(results.map(([name, state]) => [name, state]));
      if (failed.length === 0) {
        const degraded = results.some(([, state]) => state !== 'ok');
        if (degraded) request.log.warn({ checks: summary }, 'ready, degraded');
        return { status: degraded ? 'degraded' : 'ready', checks: summary };
      }
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

/**
 * What makes an instance ready: the database answers, each signing algorithm has an active key, and
 * (degraded, still serving) the keyring on disk was not refused at its last reload.
 */
export function readinessChecks(deps: {
  database: { ping(): Promise<unknown> };
  keys: { missingSigningAlgs(): readonly string[]; problem(): string | undefined };
}): ReadinessCheck[] {
  return [
    { name: 'database', check: async () => void (await deps.database.ping()) },
    {
      name: 'keys',
      check: async () => {
        const missing = deps.keys.missingSigningAlgs();
        if (missing.length > 0) throw new Error(`no active signing key for ${missing.join(', ')}`);
      },
    },
    // A keyring on disk refused at reload: still serving, on the last good key set.
    { name: 'keyring', check: async () => deps.keys.problem() && `last good key set in use; refused ${deps.keys.problem()}` },
  ];
}
