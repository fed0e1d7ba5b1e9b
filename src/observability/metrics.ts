import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics for one app instance (its own registry: no global state, tests build many).
 */
export interface MetricSources {
  /** Read at scrape time from the database, so every instance reports the same state. */
  bans?(): Promise<{ users: number; ips: number }>;
  /** This process's mail deliveries so far, by outcome. */
  mail?(): { sent: number; retried: number; failed: number };
}

export function createMetrics(sources: MetricSources = {}) {
  const registry = new Registry();
  // Node's own metrics as gatehouse_process_* and gatehouse_nodejs_* (the prefix once doubled "process_").
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const m = {
    registry,
    /** The text /metrics serves: this registry, or with WORKERS > 1 every worker's, summed (cluster.ts). */
    render: (): Promise<string> => registry.metrics(),
    httpRequests: new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tokensIssued: new Counter({
      name: 'gatehouse_tokens_issued_total',
      help: 'Successful token endpoint responses by grant type',
      labelNames: ['grant'] as const,
      registers: [registry],
    }),
    tokenErrors: new Counter({
      name: 'gatehouse_token_errors_total',
      help: 'Failed token endpoint requests by grant type and OAuth error',
      labelNames: ['grant', 'error'] as const,
      registers: [registry],
    }),
    logins: new Counter({
      name: 'gatehouse_logins_total',
      help: 'Login attempts by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    secondFactorChecks: new Counter({
      name: 'gatehouse_second_factor_checks_total',
      help: 'Second steps of sign-ins by method (code: an authenticator app or recovery code typed in; passkey) and outcome (success, recovery_code: in with a recovery code, failed, throttled)',
      labelNames: ['method', 'outcome'] as const,
      registers: [registry],
    }),
    accountEvents: new Counter({
      name: 'gatehouse_account_events_total',
      help: 'Self-service account requests that succeeded, by event (signup, email_verified, reset_requested, password_reset, and the account page: password_changed, email_change_requested, email_changed, session_ended, app_disconnected, signed_out_everywhere, account_deleted)',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    throttles: new Counter({
      name: 'gatehouse_throttles_total',
      help: 'Requests refused by the guard, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    bans: new Gauge({
      name: 'gatehouse_bans',
      help: 'Banned users and active IP bans right now',
      labelNames: ['kind'] as const,
      // The same in every worker (read from the database or the keyring): one worker's answer, not a sum.
      aggregator: 'first',
      registers: [registry],
      async collect() {
        if (!sources.bans) return;
        const { users, ips } = await sources.bans();
        this.set({ kind: 'user' }, users);
        this.set({ kind: 'ip' }, ips);
      },
    }),
    mailDeliveries: new Counter({
      name: 'gatehouse_mail_deliveries_total',
      help: 'Mail delivery attempts by outcome: sent, retried (failed, tried again), failed (given up)',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect() {
        if (!sources.mail) return;
        const counts = sources.mail();
        this.reset();
        for (const outcome of ['sent', 'retried', 'failed'] as const) this.inc({ outcome }, counts[outcome]);
      },
    }),
    keys: new Gauge({
      name: 'gatehouse_signing_keys',
      help: 'Signing keys in the keyring by algorithm and state',
      labelNames: ['alg', 'state'] as const,
      // The same in every worker (read from the database or the keyring): one worker's answer, not a sum.
      aggregator: 'first',
      registers: [registry],
    }),
    activeKey: new Gauge({
      name: 'gatehouse_signing_key_active_info',
      help: 'The key that signs now, per algorithm (value 1)',
      labelNames: ['alg', 'kid'] as const,
      // The same in every worker (read from the database or the keyring): one worker's answer, not a sum.
      aggregator: 'first',
      registers: [registry],
    }),
    revocationFeedEntries: new Gauge({
      name: 'gatehouse_revocation_feed_entries',
      help: 'Entries in the revocation feed when it was last built, by kind (subject, grant, token)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    nextKeyChange: new Gauge({
      name: 'gatehouse_signing_keys_next_change_timestamp_seconds',
      help: 'When the next scheduled key state change happens (0 = none scheduled)',
      // The same in every worker (read from the database or the keyring): one worker's answer, not a sum.
      aggregator: 'first',
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
