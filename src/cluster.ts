import cluster, { type Worker } from 'node:cluster';
import type { Registry } from 'prom-client';
import { missingRuntimeEnv, withRuntimeOptions } from './config/runtime.js';
import type { Logger } from './observability/logger.js';

/**
 * WORKERS > 1: a primary process that serves nothing itself and N worker processes that share the
 * listening port (node:cluster; on Linux the primary accepts connections and hands them round-robin
 * to the workers). Each worker is a whole Gatehouse instance, exactly like a second server on the
 * same database and keys folder: what must be shared already is (docs/architecture.md, "Workers").
 *
 * The primary migrates the database and creates the keyring (on a first start) before the workers
 * start, so they never race to create it; it forwards SIGTERM/SIGINT (drain, then
 * exit) and SIGHUP (re-read the keyring), replaces a worker that dies, and answers a worker's request
 * for the metrics of all workers (one /metrics view, summed by prom-client's cluster aggregation).
 */

const METRICS_REQUEST = 'gatehouse:metrics-request';
const METRICS_RESPONSE = 'gatehouse:metrics-response';
/** A worker that dies is replaced after this long, doubling while it keeps dying, up to the maximum. */
const RESTART_DELAY_MS = 500;
const RESTART_DELAY_MAX_MS = 30_000;
/** A worker that served this long before dying is not "crashing in a loop": its delay starts over. */
const STABLE_AFTER_MS = 60_000;
/** How long the workers get to drain after SIGTERM before the primary kills them. */
const STOP_TIMEOUT_MS = 15_000;
/** A worker's /metrics gives up on the primary after this long (prom-client's own limit is 5 s). */
const METRICS_TIMEOUT_MS = 6_000;

export const isWorker = (): boolean => cluster.isWorker;

/** Runs the primary: forks `workers` processes of this same program and supervises them. */
export async function runPrimary(opts: { workers: number; logger: Logger; listening: string; firstWorkerEnv?: Record<string, string> }): Promise<void> {
  const { logger } = opts;
  const { AggregatorRegistry } = await import('prom-client');
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let everyoneListened = false;
  const listened = new Set<number>();
  const startedAt = new Map<number, number>();
  let delay = RESTART_DELAY_MS;
  /** Non-zero once a worker failed to start: the primary's own exit status. */
  let failed = 0;

  // Wall time between a worker's start and its death: the process's own uptime clock.
  const uptimeMs = () => Math.round(process.uptime() * 1000);

  // Workers run with the runtime options and environment `npm start` gives a single process, however
  // the primary was started.
  cluster.setupPrimary({ execArgv: withRuntimeOptions(process.execArgv, process.env.NODE_OPTIONS) });
  const runtimeEnv = missingRuntimeEnv(process.env);
  const fork = (env?: Record<string, string>): Worker => {
    const worker = cluster.fork({ ...runtimeEnv, ...env });
    startedAt.set(worker.id, uptimeMs());
    return worker;
  };

  cluster.on('listening', (worker) => {
    listened.add(worker.id);
    if (!everyoneListened && listened.size >= opts.workers) {
      everyoneListened = true;
      logger.info({ workers: opts.workers }, `${opts.listening} (${opts.workers} workers)`);
    }
  });

  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: METRICS_RESPONSE, id: message.id, text }),
      (err: Error) => worker.isConnected() && worker.send({ type: METRICS_RESPONSE, id: message.id, error: err.message }),
    );
  });

  cluster.on('exit', (worker, code, signal) => {
    const lived = uptimeMs() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        if (!failed) logger.info('stopped');
        process.exit(failed);
      }
      return;
    }
    if (!everyoneListened && !listened.has(worker.id) && signal === null) {
      // At the first start a worker exited before it listened (the database refused it, the port is
      // taken, ...): so would the next. Its own message is already on stderr. Later, a replacement
      // that fails (the database is down just then) is retried like any dead worker.
      logger.error({ worker: worker.id, code, signal }, 'a worker failed to start; stopping');
      failed = code || 2;
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      setTimeout(() => process.exit(failed), STOP_TIMEOUT_MS).unref();
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed);
      return;
    }
    if (lived > STABLE_AFTER_MS) delay = RESTART_DELAY_MS;
    logger.error({ worker: worker.id, code, signal, restart_in_ms: delay }, 'a worker died; starting another');
    const wait = delay;
    delay = Math.min(delay * 2, RESTART_DELAY_MAX_MS);
    // Referenced: when every worker died at once, this timer is what keeps the primary running.
    setTimeout(() => {
      if (!stopping) fork();
    }, wait);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping the workers now');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping: the workers drain their in-flight requests');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error('the workers did not stop in time; killing them');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: the workers re-read the keyring');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
  });

  for (let i = 0; i < opts.workers; i++) fork(i === 0 ? opts.firstWorkerEnv : undefined);
}

/**
 * In a worker: answer the primary's requests for this worker's metrics, and render the metrics of
 * every worker for /metrics by asking the primary (which asks them all).
 */
export async function clusterMetrics(registry: Registry): Promise<() => Promise<string>> {
  const { AggregatorRegistry } = await import('prom-client');
  // Constructing one installs the worker's listener; setRegistries names what it reports.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on('message', (message: { type?: string; id?: number; text?: string; error?: string }) => {
    if (message?.type !== METRICS_RESPONSE || message.id === undefined) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve(message.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer with the metrics in time'));
      }, METRICS_TIMEOUT_MS);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      process.send!({ type: METRICS_REQUEST, id });
    });
}

/**
 * In a worker: when the primary is gone (killed), stop too, since nothing can reach this worker any
 * more. Installed first thing, so a worker still starting exits too; `stopping()` says how to stop
 * at that moment (exit at once while starting, drain once serving).
 */
export function stopWhenOrphaned(stopping: () => () => void): void {
  process.on('disconnect', () => stopping()());
  // The primary may have gone while this process was still loading (no listener heard it).
  if (!process.connected) stopping()();
}
