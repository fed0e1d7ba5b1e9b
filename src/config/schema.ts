import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { parseDuration } from '../lib/duration.js';

/**
 * Every environment variable Gatehouse reads: its meaning, its default and how it is parsed.
 * `loadConfig` is the only reader of the environment; this table is also what `config check` and the
 * README describe. A parser returns the value, or a string saying what is wrong with the input.
 */
export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type DatabaseKind = 'sqlite' | 'postgres';

/** Defense policy (docs/architecture.md, Brute-force defense); every value has an environment variable. */
export interface GuardSettings {
  /** Layer 1: attempts per account and IP (or device) before each further one must wait. */
  freeAttempts: number;
  /** First wait after the free attempts, doubling each time, capped at maxDelay (seconds). */
  baseDelay: number;
  maxDelay: number;
  /** Layer 2: failed logins per IP (IPv6: per /64) in ipWindow before the IP is blocked for ipBlock. */
  ipFailures: number;
  ipWindow: number;
  ipBlock: number;
  /** Signups and password-reset requests per IP per ipWindow. */
  ipSignups: number;
  ipResets: number;
  /** Layer 3: consecutive failures on one account (from anywhere) before a lock, doubling, capped. */
  lockAfter: number;
  lockFor: number;
  maxLock: number;
  /** NIST SP 800-63B: consecutive failures after which the password is disabled until a reset. */
  disableAfter: number;
}

export type MfaPolicy = 'off' | 'optional' | 'required';

export interface Config {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  workers: number;
  issuer: string;
  dataDir: string;
  databaseUrl: string;
  databaseKind: DatabaseKind;
  keysDir: string;
  /** Cookie-signing secrets, first signs, all verify. Null until resolved (development generates them). */
  secrets: readonly string[] | null;
  trustProxy: readonly string[];
  accessTokenTtl: number;
  idTokenTtl: number;
  refreshTokenTtl: number;
  refreshTokenAbsoluteTtl: number;
  refreshGraceSeconds: number;
  keyPrepublish: number;
  keyReloadInterval: number;
  /** Seconds between automatic rotations; null = off. */
  keyRotationInterval: number | null;
  clockSkew: number;
  requireEmailVerification: boolean;
  /** Second factors (docs/second-factors.md): `off` none offered, `optional` people choose, `required` everyone enrols. */
  requireMfa: MfaPolicy;
  guard: GuardSettings;
  smtpUrl: string | null;
  /** Where mail goes: an SMTP server, or one file per mail in `$DATA_DIR/outbox/`. */
  mailTransport: 'smtp' | 'outbox';
  /** Further attempts after a failed delivery, waiting 1 s, then 2 s, 4 s, ... */
  mailRetries: number;
  mailFrom: string;
  logLevel: LogLevel;
  sweepInterval: number;
  /** Bearer token /metrics requires; null = /metrics is open (to anyone not IP-banned). */
  metricsToken: string | null;
  /** Seconds a client has to send a whole request (headers and body); also the socket inactivity limit. */
  httpRequestTimeout: number;
  /** Seconds a client has to send the request headers (at most httpRequestTimeout). */
  httpHeadersTimeout: number;
  /** Seconds an idle keep-alive connection stays open between requests. */
  httpKeepAliveTimeout: number;
  /** Open connections accepted at once; further ones are closed on arrival. */
  httpMaxConnections: number;
  /** OTLP/HTTP collector base URL; null = tracing off (observability/tracing.ts). */
  otelEndpoint: string | null;
  /** Headers sent with every export (`key=value,...`), e.g. the collector's credentials. */
  otelHeaders: string | null;
  /** `service.name` of the spans. */
  otelServiceName: string;
  /** The product's name on every page and in the page titles (branding). */
  productName: string;
  /** Where people get help (an https/http URL or a mailto: address); null = no support link. */
  supportUrl: string | null;
  /** The product's logo on every page (an https/http URL); null = none. */
  logoUrl: string | null;
  /** The colour of buttons and links in light mode (`#rrggbb`); null = Gatehouse's blue. */
  accentColor: string | null;
  /** An operator's folder of page/mail templates and message files replacing ours file by file; null = ours only. */
  templatesDir: string | null;
  /** The language of pages and mails when neither ui_locales nor Accept-Language names one we have. */
  defaultLocale: string;
}

type Env = Readonly<Record<string, string | undefined>>;
type Parsed<T> = { value: T } | { problem: string };
type Context = { env: Env; cwd: string; partial: Partial<Config> };

export interface Field<K extends keyof Config = keyof Config> {
  key: K;
  variable: string;
  description: string;
  /** Human-readable default for documentation. */
  defaultText: string;
  /** The default, possibly derived from fields parsed before this one. */
  defaultValue: (ctx: Context) => Config[K];
  parse: (raw: string, ctx: Context) => Parsed<Config[K]>;
  secret?: boolean;
}

const ok = <T>(value: T): Parsed<T> => ({ value });
const problem = (text: string): Parsed<never> => ({ problem: text });
const show = (raw: string) => JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw);

function integer(min: number, max: number) {
  return (raw: string): Parsed<number> => {
    const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    return Number.isInteger(n) && n >= min && n <= max
      ? ok(n)
      : problem(`must be an integer from ${min} to ${max} (got ${show(raw)})`);
  };
}

function duration(min: number, max: number) {
  return (raw: string): Parsed<number> => {
    const seconds = parseDuration(raw);
    if (seconds === undefined) return problem(`must be seconds or a duration like 15m, 1h, 14d (got ${show(raw)})`);
    if (seconds < min || seconds > max) return problem(`must be between ${min}s and ${max}s (got ${show(raw)})`);
    return ok(seconds);
  };
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): Parsed<T> => {
    const v = raw.trim().toLowerCase() as T;
    return values.includes(v) ? ok(v) : problem(`must be one of ${values.join(', ')} (got ${show(raw)})`);
  };
}

function boolean(raw: string): Parsed<boolean> {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return ok(true);
  if (['false', '0', 'no', 'off'].includes(v)) return ok(false);
  return problem(`must be true or false (got ${show(raw)})`);
}

function folder(raw: string, ctx: Context): Parsed<string> {
  return raw.trim() === '' ? problem('must not be empty') : ok(resolve(ctx.cwd, raw.trim()));
}

function issuer(raw: string, ctx: Context): Parsed<string> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return problem(`must be an absolute http(s) URL (got ${show(raw)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return problem(`must be an http or https URL (got ${show(raw)})`);
  }
  if (url.search || url.hash || url.username || url.password) {
    return problem('must not contain a query, fragment or credentials');
  }
  if (ctx.partial.nodeEnv === 'production' && url.protocol !== 'https:') {
    return problem('must be https when NODE_ENV=production');
  }
  // OIDC Core: the issuer is compared as a string; keep one canonical form without a trailing slash.
  return ok(url.href.replace(/\/$/, ''));
}

function databaseUrl(raw: string, ctx: Context): Parsed<string> {
  const value = raw.trim();
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      return problem('is not a valid postgres:// URL');
    }
    return ok(value);
  }
  if (value.startsWith('file:')) {
    const path = value.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '' || path.includes('?')) return problem('file: URLs take a path, e.g. file:./data/gatehouse.db');
    return ok(`file:${isAbsolute(path) ? path : resolve(ctx.cwd, path)}`);
  }
  return problem(`must start with file:, postgres:// or postgresql:// (got ${show(value.replace(/\/\/[^@/]*@/, '//***@'))})`);
}

function secrets(raw: string): Parsed<string[]> {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) return problem('must list at least one secret');
  const short = list.findIndex((s) => s.length < 32);
  if (short !== -1) return problem(`secret #${short + 1} is shorter than 32 characters`);
  return ok(list);
}

function trustProxy(raw: string): Parsed<string[]> {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of list) {
    const valid = entry.includes('/') ? safely(() => ipaddr.parseCIDR(entry)) : ipaddr.isValid(entry);
    if (!valid) return problem(`${show(entry)} is not an IP address or CIDR range`);
  }
  return ok(list);
}

function safely(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

function metricsToken(raw: string): Parsed<string | null> {
  const value = raw.trim();
  if (value === '') return ok(null);
  // RFC 6750 §2.1 b64token, long enough not to be guessed.
  if (!/^[A-Za-z0-9._~+/-]+=*$/.test(value)) return problem('may contain only letters, digits and - . _ ~ + / (then =)');
  return value.length >= 32 ? ok(value) : problem('must be at least 32 characters (e.g. openssl rand -base64 32)');
}

function smtpUrl(raw: string): Parsed<string | null> {
  const value = raw.trim();
  if (value === '') return ok(null);
  try {
    const url = new URL(value);
    if (url.protocol === 'smtp:' || url.protocol === 'smtps:') return ok(value);
  } catch {
    // fall through
  }
  return problem('must be an smtp:// or smtps:// URL');
}

function mailFrom(raw: string): Parsed<string> {
  const value = raw.trim();
  // `Name <address>` or a bare address; one line (it becomes a mail header).
  const valid = value.length <= 200 && /^(?:[^<>\x00-\x1f\x7f]{1,100} <[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/.test(value);
  return valid ? ok(value) : problem(`must be an address like "Gatehouse <no-reply@example.com>" (got ${show(raw)})`);
}

function otelEndpoint(raw: string): Parsed<string | null> {
  const value = raw.trim();
  if (value === '') return ok(null);
  try {
    const url = new URL(value);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash) return ok(value);
  } catch {
    // fall through
  }
  return problem('must be an http(s) URL without a query, e.g. http://127.0.0.1:4318 (the collector\'s OTLP/HTTP port)');
}

function supportUrl(raw: string): Parsed<string | null> {
  const value = raw.trim();
  if (value === '') return ok(null);
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:' || url.protocol === 'mailto:') return ok(url.href);
  } catch {
    // fall through
  }
  return problem('must be an http(s) URL or a mailto: address, e.g. https://help.example.com or mailto:help@example.com');
}

function logoUrl(raw: string): Parsed<string | null> {
  const value = raw.trim();
  if (value === '') return ok(null);
  try {
    const url = new URL(value);
    if ((url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password) return ok(url.href);
  } catch {
    // fall through
  }
  return problem('must be an http(s) URL of an image, e.g. https://example.com/logo.svg');
}

function accentColor(raw: string): Parsed<string | null> {
  const value = raw.trim().toLowerCase();
  if (value === '') return ok(null);
  return /^#[0-9a-f]{6}$/.test(value) ? ok(value) : problem('must be a colour as #rrggbb, e.g. #0b6e4f');
}

/** The W3C Baggage-like list the OpenTelemetry exporters read: `key=value` pairs, comma-separated. */
function otelHeaders(raw: string): Parsed<string | null> {
  const value = raw.trim();
  if (value === '') return ok(null);
  const valid = value.split(',').every((pair) => /^\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=\s*\S.*$/.test(pair));
  return valid ? ok(value) : problem('must be key=value pairs separated by commas, e.g. authorization=Bearer%20abc');
}

const field = <K extends keyof Config>(f: Field<K>): Field<K> => f;

/** The defense variables, each with its default; reported through GUARD_PROBLEMS when malformed. */
export const GUARD_VARIABLES = [
  ['freeAttempts', 'LOGIN_FREE_ATTEMPTS', '5', 'attempts per account and IP (or device) before each further one must wait', integer(1, 1000)],
  ['baseDelay', 'LOGIN_BASE_DELAY', '1s', 'first wait after the free attempts; doubles with each further attempt', duration(1, 3600)],
  ['maxDelay', 'LOGIN_MAX_DELAY', '15m', 'longest wait between attempts on one account from one IP or device', duration(1, 86400)],
  ['ipFailures', 'IP_FAILURE_LIMIT', '50', 'failed logins from one IP (IPv6: /64) per IP_WINDOW before it is blocked', integer(1, 1_000_000)],
  ['ipWindow', 'IP_WINDOW', '1h', 'window for the per-IP limits', duration(60, 7 * 86400)],
  ['ipBlock', 'IP_BLOCK', '1h', 'how long an IP over a limit is blocked', duration(60, 30 * 86400)],
  ['ipSignups', 'IP_SIGNUP_LIMIT', '10', 'signups from one IP per IP_WINDOW', integer(1, 1_000_000)],
  ['ipResets', 'IP_RESET_LIMIT', '10', 'password-reset requests from one IP per IP_WINDOW', integer(1, 1_000_000)],
  ['lockAfter', 'ACCOUNT_LOCK_AFTER', '20', 'consecutive failures on one account (any IP) before a temporary lock', integer(1, 10_000)],
  ['lockFor', 'ACCOUNT_LOCK', '15m', 'first lock; each further lock doubles', duration(1, 86400)],
  ['maxLock', 'ACCOUNT_LOCK_MAX', '24h', 'longest lock', duration(1, 30 * 86400)],
  ['disableAfter', 'PASSWORD_DISABLE_AFTER', '100', 'consecutive failures after which the password is disabled until a reset (NIST: at most 100)', integer(1, 100)],
] as const;

function guardSettings(env: Env): GuardSettings {
  const out: Record<string, number> = {};
  for (const [key, variable, fallback, , parse] of GUARD_VARIABLES) {
    const raw = env[variable];
    const parsed = parse(raw === undefined || raw === '' ? fallback : raw);
    out[key] = 'value' in parsed ? parsed.value : Number.NaN;
  }
  return out as unknown as GuardSettings;
}

/** Problems with the defense variables, one per variable (loadConfig reports them with the rest). */
export function guardProblems(env: Env): { variable: string; message: string }[] {
  const issues: { variable: string; message: string }[] = [];
  for (const [, variable, , , parse] of GUARD_VARIABLES) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const parsed = parse(raw);
    if ('problem' in parsed) issues.push({ variable, message: parsed.problem });
  }
  return issues;
}
const HOUR = 3600;
const DAY = 86400;

/** Order matters: a default may depend on a field above it. */
export const FIELDS = [
  field({
    key: 'nodeEnv', variable: 'NODE_ENV', defaultText: 'development',
    description: 'production turns on the strict checks (https issuer, explicit SECRETS)',
    defaultValue: () => 'development' as const, parse: oneOf(['development', 'production', 'test'] as const),
  }),
  field({
    key: 'port', variable: 'PORT', defaultText: '3000', description: 'TCP port to listen on',
    defaultValue: () => 3000, parse: integer(0, 65535),
  }),
  field({
    key: 'host', variable: 'HOST', defaultText: '127.0.0.1 (image: 0.0.0.0)', description: 'address to listen on',
    defaultValue: () => '127.0.0.1',
    parse: (raw) => (raw.trim() && !/\s/.test(raw.trim()) ? ok(raw.trim()) : problem('must be a host name or IP address')),
  }),
  field({
    key: 'workers', variable: 'WORKERS', defaultText: 'the number of CPUs',
    description: 'server processes sharing the port (1 = a single process, no supervisor)',
    defaultValue: () => availableParallelism(), parse: integer(1, 256),
  }),
  field({
    key: 'issuer', variable: 'ISSUER', defaultText: 'http://localhost:$PORT',
    description: 'public base URL, the `iss` of every token; must be https in production',
    defaultValue: (ctx) => `http://localhost:${ctx.partial.port ?? 3000}`,
    parse: issuer,
  }),
  field({
    key: 'dataDir', variable: 'DATA_DIR', defaultText: './data',
    description: 'embedded database, generated development secrets, mail outbox',
    defaultValue: (ctx) => resolve(ctx.cwd, 'data'), parse: folder,
  }),
  field({
    key: 'databaseUrl', variable: 'DATABASE_URL', defaultText: 'file:$DATA_DIR/gatehouse.db',
    description: 'file: → SQLite, postgres:// or postgresql:// → PostgreSQL', secret: true,
    defaultValue: (ctx) => `file:${resolve(ctx.partial.dataDir ?? resolve(ctx.cwd, 'data'), 'gatehouse.db')}`,
    parse: databaseUrl,
  }),
  field({
    key: 'keysDir', variable: 'KEYS_DIR', defaultText: './keys', description: 'signing keyring folder',
    defaultValue: (ctx) => resolve(ctx.cwd, 'keys'), parse: folder,
  }),
  field({
    key: 'secrets', variable: 'SECRETS', defaultText: 'generated into $DATA_DIR in development; required in production',
    description: 'comma-separated cookie-signing secrets (≥ 32 characters each); the first signs, all verify',
    secret: true, defaultValue: () => null, parse: secrets,
  }),
  field({
    key: 'trustProxy', variable: 'TRUST_PROXY', defaultText: '(none)',
    description: 'comma-separated IPs/CIDRs of the proxies whose X-Forwarded-* headers are believed',
    defaultValue: () => [], parse: trustProxy,
  }),
  field({
    key: 'accessTokenTtl', variable: 'ACCESS_TOKEN_TTL', defaultText: '10m',
    description: 'JWT access token lifetime (an API may set its own)',
    defaultValue: () => 600, parse: duration(30, DAY),
  }),
  field({
    key: 'idTokenTtl', variable: 'ID_TOKEN_TTL', defaultText: '1h', description: 'ID token lifetime',
    defaultValue: () => HOUR, parse: duration(30, DAY),
  }),
  field({
    key: 'refreshTokenTtl', variable: 'REFRESH_TOKEN_TTL', defaultText: '14d',
    description: 'refresh token idle lifetime (each rotation starts it again)',
    defaultValue: () => 14 * DAY, parse: duration(60, 365 * DAY),
  }),
  field({
    key: 'refreshTokenAbsoluteTtl', variable: 'REFRESH_TOKEN_ABSOLUTE_TTL', defaultText: '90d',
    description: 'refresh token absolute lifetime, counted from the login',
    defaultValue: () => 90 * DAY, parse: duration(60, 5 * 365 * DAY),
  }),
  field({
    key: 'refreshGraceSeconds', variable: 'REFRESH_GRACE_SECONDS', defaultText: '10',
    description: 'window in which a retry with the just-rotated refresh token gets the same successor; 0 = strict',
    defaultValue: () => 10, parse: duration(0, 300),
  }),
  field({
    key: 'keyPrepublish', variable: 'KEY_PREPUBLISH', defaultText: '1h',
    description: 'how long a new signing key is published before it signs',
    defaultValue: () => HOUR, parse: duration(0, 30 * DAY),
  }),
  field({
    key: 'keyReloadInterval', variable: 'KEY_RELOAD_INTERVAL', defaultText: '10s',
    description: 'how often each instance re-reads the keyring folder (SIGHUP forces it)',
    defaultValue: () => 10, parse: duration(1, HOUR),
  }),
  field({
    key: 'keyRotationInterval', variable: 'KEY_ROTATION_INTERVAL', defaultText: '(off)',
    description: 'rotate the signing keys automatically this often (e.g. 30d); one instance does it, under a lock',
    defaultValue: () => null,
    parse: (raw) => {
      if (['off', 'none', '0'].includes(raw.trim().toLowerCase())) return ok(null);
      return duration(HOUR, 365 * DAY)(raw);
    },
  }),
  field({
    key: 'clockSkew', variable: 'CLOCK_SKEW', defaultText: '60s',
    description: 'clock difference tolerated between us and resource servers; retired keys stay published this much longer',
    defaultValue: () => 60, parse: duration(0, HOUR),
  }),
  field({
    key: 'guard', variable: 'GUARD', defaultText: 'see the LOGIN_* / IP_* / ACCOUNT_* variables',
    description: 'defense policy, read from the variables below', defaultValue: (ctx) => guardSettings(ctx.env),
    parse: () => problem('set the individual LOGIN_*, IP_* and ACCOUNT_* variables instead'),
  }),
  field({
    key: 'requireEmailVerification', variable: 'REQUIRE_EMAIL_VERIFICATION', defaultText: 'true',
    description: 'login waits for a verified email', defaultValue: () => true, parse: boolean,
  }),
  field({
    key: 'requireMfa', variable: 'REQUIRE_MFA', defaultText: 'optional',
    description: 'second factors: off (none offered; factors already enrolled are still asked for), optional (people choose), required (a person without one enrols at the next sign-in)',
    defaultValue: () => 'optional' as const, parse: oneOf(['off', 'optional', 'required'] as const),
  }),
  field({
    key: 'smtpUrl', variable: 'SMTP_URL', defaultText: '(unset: mail goes to $DATA_DIR/outbox/)',
    description: 'outgoing mail server', secret: true, defaultValue: () => null, parse: smtpUrl,
  }),
  field({
    key: 'mailTransport', variable: 'MAIL_TRANSPORT', defaultText: 'smtp when SMTP_URL is set, else outbox',
    description: 'smtp or outbox (one file per mail in $DATA_DIR/outbox/); production needs SMTP_URL unless this says outbox',
    defaultValue: (ctx) => (ctx.partial.smtpUrl ? ('smtp' as const) : ('outbox' as const)),
    parse: oneOf(['smtp', 'outbox'] as const),
  }),
  field({
    key: 'mailRetries', variable: 'MAIL_RETRIES', defaultText: '3',
    description: 'further attempts after a failed mail delivery, waiting 1 s, 2 s, 4 s, ... (0 = none)',
    defaultValue: () => 3, parse: integer(0, 10),
  }),
  field({
    key: 'mailFrom', variable: 'MAIL_FROM', defaultText: 'Gatehouse <no-reply@$ISSUER host name>',
    description: 'sender of the mails Gatehouse sends (verification, password reset)',
    defaultValue: (ctx) => `Gatehouse <no-reply@${new URL(ctx.partial.issuer ?? 'http://localhost').hostname}>`,
    parse: mailFrom,
  }),
  field({
    key: 'logLevel', variable: 'LOG_LEVEL', defaultText: 'info', description: 'pino log level',
    defaultValue: () => 'info' as const,
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  }),
  field({
    key: 'sweepInterval', variable: 'SWEEP_INTERVAL', defaultText: '5m',
    description: 'how often expired tokens, sessions and one-time tokens are deleted',
    defaultValue: () => 300, parse: duration(1, DAY),
  }),
  field({
    key: 'httpRequestTimeout', variable: 'HTTP_REQUEST_TIMEOUT', defaultText: '30s',
    description: 'time a client has to send a whole request, headers and body (a slow client is cut off with 408)',
    defaultValue: () => 30, parse: duration(1, HOUR),
  }),
  field({
    key: 'httpHeadersTimeout', variable: 'HTTP_HEADERS_TIMEOUT', defaultText: '10s (at most HTTP_REQUEST_TIMEOUT)',
    description: 'time a client has to send the request headers',
    defaultValue: (ctx) => Math.min(10, ctx.partial.httpRequestTimeout ?? 30),
    parse: (raw, ctx) => {
      const parsed = duration(1, HOUR)(raw);
      if ('value' in parsed && ctx.partial.httpRequestTimeout !== undefined && parsed.value > ctx.partial.httpRequestTimeout) {
        return problem(`must not exceed HTTP_REQUEST_TIMEOUT (${ctx.partial.httpRequestTimeout}s)`);
      }
      return parsed;
    },
  }),
  field({
    key: 'httpKeepAliveTimeout', variable: 'HTTP_KEEP_ALIVE_TIMEOUT', defaultText: '72s',
    description: 'how long an idle keep-alive connection stays open (keep it above your load balancer\'s idle timeout)',
    defaultValue: () => 72, parse: duration(1, HOUR),
  }),
  field({
    key: 'httpMaxConnections', variable: 'HTTP_MAX_CONNECTIONS', defaultText: '1000',
    description: 'open connections accepted at once; further ones are closed on arrival',
    defaultValue: () => 1000, parse: integer(1, 1_000_000),
  }),
  field({
    key: 'metricsToken', variable: 'METRICS_TOKEN', defaultText: '(unset: /metrics is open)',
    description: 'bearer token that /metrics requires (Authorization: Bearer <token>); at least 32 characters',
    secret: true, defaultValue: () => null, parse: metricsToken,
  }),
  field({
    key: 'otelEndpoint', variable: 'OTEL_EXPORTER_OTLP_ENDPOINT', defaultText: '(unset: tracing off)',
    description: 'OpenTelemetry collector (OTLP over HTTP, JSON); spans go to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces',
    secret: true, defaultValue: () => null, parse: otelEndpoint,
  }),
  field({
    key: 'otelHeaders', variable: 'OTEL_EXPORTER_OTLP_HEADERS', defaultText: '(none)',
    description: 'headers sent with every export, key=value pairs separated by commas (e.g. the collector\'s credentials)',
    secret: true, defaultValue: () => null, parse: otelHeaders,
  }),
  field({
    key: 'otelServiceName', variable: 'OTEL_SERVICE_NAME', defaultText: 'gatehouse',
    description: 'service.name of the spans',
    defaultValue: () => 'gatehouse',
    parse: (raw) => (raw.trim() && raw.trim().length <= 100 ? ok(raw.trim()) : problem('must be 1 to 100 characters')),
  }),
  field({
    key: 'productName', variable: 'PRODUCT_NAME', defaultText: 'Gatehouse',
    description: 'the product name the pages show (titles, sign-out, account page)',
    defaultValue: () => 'Gatehouse',
    parse: (raw) => (raw.trim() && raw.trim().length <= 60 && !/[\x00-\x1f\x7f]/.test(raw) ? ok(raw.trim()) : problem('must be 1 to 60 characters, no control characters')),
  }),
  field({
    key: 'supportUrl', variable: 'SUPPORT_URL', defaultText: '(unset: no support link)',
    description: 'where people get help: every page links to it (https URL or mailto: address)',
    defaultValue: () => null, parse: supportUrl,
  }),
  field({
    key: 'logoUrl', variable: 'LOGO_URL', defaultText: '(unset: no logo)',
    description: 'the product logo every page shows (an http(s) URL of an image)',
    defaultValue: () => null, parse: logoUrl,
  }),
  field({
    key: 'accentColor', variable: 'ACCENT_COLOR', defaultText: '#2457c5',
    description: 'the colour of buttons and links in light mode (#rrggbb); the text on it is black or white, whichever reads better',
    defaultValue: () => null, parse: accentColor,
  }),
  field({
    key: 'templatesDir', variable: 'TEMPLATES_DIR', defaultText: '(unset: the built-in pages and mails)',
    description: 'a folder whose files replace the built-in page and mail templates (same names, e.g. pages/login.eta) and add or change words (locales/<lang>.json); checked at start',
    defaultValue: () => null, parse: folder,
  }),
  field({
    key: 'defaultLocale', variable: 'DEFAULT_LOCALE', defaultText: 'en',
    description: 'the language of pages and mails when the request names none we have (ui_locales, then Accept-Language); one of the available languages (en, de, and any in $TEMPLATES_DIR/locales/)',
    defaultValue: () => 'en',
    parse: (raw) => (/^[a-z]{2,3}(-[A-Z]{2})?$/.test(raw.trim()) ? ok(raw.trim()) : problem('must be a language tag such as en, de or pt-BR')),
  }),
] as const satisfies readonly Field[];
