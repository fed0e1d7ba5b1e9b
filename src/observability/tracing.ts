import type { Attributes, Span } from '@opentelemetry/api';
import type { Logger } from './logger.js';

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. Off, no OpenTelemetry module
 * is loaded (every import of one here is a type or a dynamic import inside `startTracing`) and
 * nothing is wrapped. On, spans go by OTLP over HTTP (JSON bodies) to
 * `$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces` (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); the exporter and
 * the batch processor read the standard OTEL_* variables themselves (headers, timeout, OTEL_BSP_*),
 * and OTEL_SERVICE_NAME names the service.
 *
 * What a span may carry: names of things (route, model, operation) and outcomes (status, error
 * type). Never a value a person or client sent: no query string, header, cookie, email, password,
 * secret, token, or query parameter (README.md, Operations: Traces).
 */

export interface TracingSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT; null = tracing off. */
  endpoint: string | null;
  /** OTEL_SERVICE_NAME. */
  serviceName: string;
}

export interface SpanOptions {
  attributes?: Attributes;
  kind?: 'internal' | 'client';
}

/**
 * Runs `work` inside a child span of the active one (the request's, when a request runs it). The
 * span ends when the work settles; a failure marks it as an error with the error's type only (a
 * message can quote the data). Modules that trace take one as an argument; without tracing they get
 * none and call their work directly.
 */
export type Trace = <T>(name: string, options: SpanOptions, work: () => Promise<T>) => Promise<T>;

export interface Tracing {
  trace: Trace;
  /** Sends the spans still buffered, then stops (graceful shutdown). */
  shutdown(): Promise<void>;
}

/** How long a graceful shutdown waits for the last spans to reach the collector. */
const SHUTDOWN_FLUSH_MS = 3000;

/**
 * Turns tracing on when an endpoint is configured: registers OpenTelemetry's tracer provider, context
 * manager (async-context tracking) and W3C `traceparent` propagator, which are process-wide by
 * OpenTelemetry's design, and batches spans to the collector. Call once, before the database is
 * opened and the HTTP app is built, and hand the returned `trace` to them.
 */
export async function startTracing(settings: TracingSettings, logger: Logger): Promise<Tracing | undefined> {
  if (!settings.endpoint) return undefined;
  const [otel, { NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // Export failures (collector down, refused) are the SDK's own diagnostics: one warning each, never
  // a crash. Their messages name the collector, not request data.
  otel.diag.setLogger(
    {
      error: (message) => logger.warn({ otel: message }, 'tracing: span export problem'),
      warn: (message) => logger.warn({ otel: message }, 'tracing: span export problem'),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    otel.DiagLogLevel.WARN,
  );
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over our default name.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': settings.serviceName }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  const tracer = otel.trace.getTracer('gatehouse');
  let open = true;
  logger.info({ endpoint: redactEndpoint(settings.endpoint) }, 'tracing on: spans go to the OTLP endpoint');
  const trace: Trace = (name, options, work) => {
    if (!open) return work();
    const kind = options.kind === 'client' ? otel.SpanKind.CLIENT : otel.SpanKind.INTERNAL;
    return tracer.startActiveSpan(name, { kind, attributes: options.attributes }, async (span: Span) => {
      try {
        return await work();
      } catch (err) {
        span.setStatus({ code: otel.SpanStatusCode.ERROR });
        span.setAttribute('error.type', errorType(err));
        throw err;
      } finally {
        span.end();
      }
    });
  };
  return {
    trace,
    async shutdown() {
      open = false;
      // A collector that does not answer must not hold the exit (the exporter's own timeout is 10 s).
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), SHUTDOWN_FLUSH_MS)));
      const outcome = await Promise.race([
        provider.shutdown().then(
          () => 'sent' as const,
          (err: Error) => (logger.warn({ err: { message: err.message } }, 'tracing: last spans not sent'), 'failed' as const),
        ),
        gaveUp,
      ]);
      clearTimeout(timer);
      if (outcome === 'late') logger.warn(`tracing: the collector did not take the last spans within ${SHUTDOWN_FLUSH_MS} ms; exiting without them`);
    },
  };
}

function redactEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (url.username || url.password) url.username = url.password = '***';
    url.search = '';
    return url.href;
  } catch {
    return '***';
  }
}

function errorType(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e?.code === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(e.code)) return e.code;
  return typeof e?.name === 'string' ? e.name : 'Error';
}
