import type { Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';

/**
 * The request span of every route, from @fastify/otel (only loaded when tracing is on:
 * observability/tracing.ts). It continues a trace whose W3C `traceparent` the caller sent, and its
 * context is the active one while the route runs, so the database and password spans nest under it.
 *
 * What @fastify/otel records by default, and what we change:
 * - `url.path` is `request.url`, query string included (an authorization request's state and PKCE
 *   challenge, a mailed link's token): we keep the path alone, and for a route with a parameter
 *   (an email in /admin/users/:email/ban, an interaction id that is also a cookie's value) the
 *   route pattern instead.
 * - a failed handler or hook sets the span status to the error's message, and records an exception
 *   event with message and stack; our messages can quote input ("no user with email …"): the
 *   status keeps its code without the message, and no exception event is recorded.
 * - a span per hook: we trace the route handler only (noise and cost), and leave out the health
 *   checks and /metrics.
 * - method, route pattern and response status are kept; headers, cookies and bodies it never records.
 */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

export async function tracingPlugin(): Promise<FastifyPluginCallback> {
  const [{ FastifyOtelInstrumentation }, { trace }] = await Promise.all([import('@fastify/otel'), import('@opentelemetry/api')]);
  const instrumentation = new FastifyOtelInstrumentation({
    instrumentHooks: false,
    recordExceptions: false,
    ignorePaths: (route) => UNTRACED.has(pathOnly(route.url)),
    requestHook: (span, request: FastifyRequest) => {
      const route = request.routeOptions.url;
      span.setAttribute('url.path', route !== undefined && /[:*]/.test(route) ? route : pathOnly(request.url));
      span.updateName(`${request.method} ${route ?? 'unmatched'}`);
    },
  });
  instrumentation.setTracerProvider(withoutMessages(trace.getTracerProvider()));
  return instrumentation.plugin() as FastifyPluginCallback;
}

function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The tracer @fastify/otel gets: its spans keep a status's code but drop its message, and record no exceptions. */
function withoutMessages(provider: TracerProvider): TracerProvider {
  const scrub = (span: Span): Span => {
    const proxy: Span = new Proxy(span, {
      get(target, prop) {
        if (prop === 'setStatus') {
          return (status: Parameters<Span['setStatus']>[0]) => {
            target.setStatus({ code: status.code });
            return proxy;
          };
        }
        if (prop === 'recordException') return () => {};
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result === target ? proxy : result;
        };
      },
    });
    return proxy;
  };
  return {
    getTracer(name, version, options) {
      const tracer = provider.getTracer(name, version, options);
      return {
        startSpan: (spanName, spanOptions, context) => scrub(tracer.startSpan(spanName, spanOptions, context)),
        // Not used by @fastify/otel; passed through.
        startActiveSpan: tracer.startActiveSpan.bind(tracer) as Tracer['startActiveSpan'],
      };
    },
  };
}
