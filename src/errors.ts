/**
 * One family of errors with one catalogue. Each code says, once, how it is answered everywhere: the
 * HTTP status, the `error` a client sees (the OAuth / RFC 6750 code), the CLI's exit code (1 usage,
 * 2 runtime), and a Retry-After when the client should come back. Throw sites name a code and say
 * what happened; they never choose a status. Only errors the catalogue exposes show their message to
 * a client; the HTTP error handler turns everything else into `server_error` and logs it once.
 * A plain `Error` is left only for a broken invariant (a bug, answered as server_error) or a message
 * caught on the spot (a readiness check's reason, the engine's client-metadata validator).
 */
interface Entry {
  status: number;
  /** The `error` on the wire (defaults to the code). */
  error?: string;
  exit: 1 | 2;
  /** Seconds the client should wait before trying again (sent as Retry-After). */
  retryAfter?: number;
  /** Whether the message may be shown to a client (default: status < 500). */
  expose?: boolean;
}

/** Seconds a client is asked to wait before retrying after a 503 (a dropped database connection is
 * replaced at once; a longer outage just earns another 503). */
export const RETRY_AFTER_UNAVAILABLE = 2;

export const CATALOGUE = {
  invalid_request: { status: 400, exit: 1 },
  usage_error: { status: 400, exit: 1 },
  invalid_client: { status: 401, exit: 1 },
  /** A bearer token (admin API, /metrics) that is missing, malformed, expired or revoked. */
  invalid_token: { status: 401, exit: 1 },
  insufficient_scope: { status: 403, exit: 1 },
  /** The account page or its JSON API without a signed-in browser session (OIDC's word for it). */
  login_required: { status: 401, exit: 1 },
  /** A mailed link's token (confirm, reset): not a credential of the caller, so 400, not 401. */
  link_invalid: { status: 400, error: 'invalid_token', exit: 1 },
  token_used: { status: 400, exit: 1 },
  token_expired: { status: 400, exit: 1 },
  access_denied: { status: 403, exit: 1 },
  not_found: { status: 404, exit: 2 },
  method_not_allowed: { status: 405, exit: 1 },
  conflict: { status: 409, exit: 2 },
  payload_too_large: { status: 413, exit: 1 },
  unsupported_media_type: { status: 415, exit: 1 },
  too_many_requests: { status: 429, exit: 2 },
  /** A dependency (the database) failed: nothing was done, the request may be retried. */
  temporarily_unavailable: { status: 503, exit: 2, retryAfter: RETRY_AFTER_UNAVAILABLE, expose: true },
  /** The database lacks migrations this version needs (the CLI never migrates on its own). */
  schema_outdated: { status: 503, exit: 2, expose: true },
  invalid_configuration: { status: 500, exit: 2, expose: true },
  /** The keyring folder holds something unusable (named in the message, for the operator). */
  keyring_invalid: { status: 500, exit: 2 },
  /** A migration failed to apply (named in the message, for the operator). */
  migration_failed: { status: 500, exit: 2 },
  /** A sign-in step whose interaction is gone (expired, finished, or never existed). */
  interaction_expired: { status: 400, exit: 1 },
  server_error: { status: 500, exit: 2 },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof CATALOGUE;

/** The wire `error` codes, with the HTTP status each one is answered with. */
export function describe(code: ErrorCode): Required<Pick<Entry, 'status' | 'error' | 'exit'>> & Pick<Entry, 'retryAfter'> & { expose: boolean } {
  const entry: Entry = CATALOGUE[code];
  return {
    status: entry.status,
    error: entry.error ?? code,
    exit: entry.exit,
    expose: entry.expose ?? entry.status < 500,
    ...(entry.retryAfter !== undefined ? { retryAfter: entry.retryAfter } : {}),
  };
}

type Options = {
  expose?: boolean;
  cause?: unknown;
  headers?: Record<string, string>;
  /** The input field the error is about (`email`, `password`, `redirect_uri`, …). */
  field?: string;
  /** A stable reason code within the field (`too_short`, `breached`, …), for code that reacts to it. */
  reason?: string;
};

export class AppError extends Error {
  readonly code: ErrorCode;
  /** The `error` a client sees. */
  readonly error: string;
  readonly statusCode: number;
  readonly exitCode: 1 | 2;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly field: string | undefined;
  readonly reason: string | undefined;

  constructor(code: ErrorCode, message: string, options: Options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry = describe(code);
    this.name = 'AppError';
    this.code = code;
    this.error = entry.error;
    this.statusCode = entry.status;
    this.exitCode = entry.exit;
    this.expose = options.expose ?? entry.expose;
    this.headers = Object.freeze({
      ...(entry.retryAfter !== undefined ? { 'retry-after': String(entry.retryAfter) } : {}),
      ...options.headers,
    });
    this.field = options.field;
    this.reason = options.reason;
  }
}

/** Input refused because of one field: the message reads `field: sentence`; `sentence` alone is what a
 * form shows next to the field. */
export class FieldError extends AppError {
  readonly sentence: string;

  constructor(field: string, reason: string, sentence: string) {
    super('invalid_request', `${field}: ${sentence}`, { field, reason });
    this.name = 'FieldError';
    this.sentence = sentence;
  }
}

export const badRequest = (message: string, cause?: unknown) => new AppError('invalid_request', message, { cause });

export const notFound = (message: string) => new AppError('not_found', message);

export const conflict = (message: string) => new AppError('conflict', message);

export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new AppError('too_many_requests', message, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });

/** A dependency (the database) is down: fail closed, say so, let the client retry. */
export const unavailable = (message: string, cause?: unknown) => new AppError('temporarily_unavailable', message, { cause });

export const isUnavailable = (error: unknown): error is AppError => error instanceof AppError && error.code === 'temporarily_unavailable';

/** Bad configuration: every problem at once, one line per variable. */
export class ConfigError extends AppError {
  readonly issues: readonly { variable: string; message: string }[];

  constructor(issues: { variable: string; message: string }[]) {
    super('invalid_configuration', `Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}

/** The operator typed something the CLI does not understand (exit code 1). */
export class UsageError extends AppError {
  constructor(message: string) {
    super('usage_error', message);
    this.name = 'UsageError';
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
