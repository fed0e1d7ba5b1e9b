/**
 * One family of errors with stable codes (the `error` field clients see). Only errors marked `expose`
 * show their message to a client; the HTTP error handler turns everything else into `server_error`
 * and logs it once with its cause. The CLI maps the same errors to exit codes.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_token'
  | 'token_used'
  | 'token_expired'
  | 'insufficient_scope'
  | 'access_denied'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'temporarily_unavailable'
  | 'server_error'
  | 'invalid_configuration'
  | 'schema_outdated'
  | 'usage_error';

type Options = {
  statusCode?: number;
  expose?: boolean;
  cause?: unknown;
  headers?: Record<string, string>;
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: Options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = options.statusCode ?? 500;
    this.expose = options.expose ?? this.statusCode < 500;
    this.headers = Object.freeze({ ...options.headers });
  }
}

export const badRequest = (message: string, cause?: unknown) =>
  new AppError('invalid_request', message, { statusCode: 400, cause });

export const notFound = (message: string) => new AppError('not_found', message, { statusCode: 404 });

export const conflict = (message: string) => new AppError('conflict', message, { statusCode: 409 });

export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new AppError('too_many_requests', message, {
    statusCode: 429,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });

/** A dependency (the database) is down: fail closed, say so, let the client retry. */
export const unavailable = (message: string, cause?: unknown) =>
  new AppError('temporarily_unavailable', message, { statusCode: 503, expose: true, cause });

/** Bad configuration: every problem at once, one line per variable. */
export class ConfigError extends AppError {
  readonly issues: readonly { variable: string; message: string }[];

  constructor(issues: { variable: string; message: string }[]) {
    super(
      'invalid_configuration',
      `Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`,
      { expose: true },
    );
    this.name = 'ConfigError';
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}

/** The operator typed something the CLI does not understand (exit code 1). */
export class UsageError extends AppError {
  constructor(message: string) {
    super('usage_error', message, { expose: true, statusCode: 400 });
    this.name = 'UsageError';
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
