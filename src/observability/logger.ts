import pino, { type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from '../config/schema.js';

/**
 * The one redaction list (docs/security.md: never log passwords, tokens, codes, secrets or cookies).
 * Paths cover request headers as fastify logs them and the bodies/params our own code might log.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.token',
  '*.code',
  '*.code_verifier',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  '*.id_token',
  '*.id_token_hint',
  '*.secrets',
  'password',
  'token',
  'client_secret',
  'refresh_token',
  'secrets',
] as const;

/** Query parameters that carry credentials (mail links, callbacks, logout hints). */
const SECRET_PARAMS = new Set(['token', 'code', 'code_verifier', 'client_secret', 'refresh_token', 'id_token_hint', 'access_token', 'state', 'nonce']);

/** The request URL as it may be logged: credential-bearing query values replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (SECRET_PARAMS.has(key)) params.set(key, '[redacted]');
  return `${url.slice(0, q)}?${params.toString()}`;
}

type LoggedRequest = { method?: string; url?: string; ip?: string; id?: string };

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: {
      req: (req: LoggedRequest) => ({ method: req.method, url: redactUrl(req.url ?? ''), ip: req.ip, id: req.id }),
    },
    // Audit and security logs are read by machines; UTC ISO timestamps.
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

export type { Logger };
