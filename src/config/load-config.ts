import { ConfigError } from '../errors.js';
import { FIELDS, GUARD_VARIABLES, guardProblems, type Config, type Field } from './schema.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the whole configuration once. Every problem is reported together (one line
 * per variable) in a ConfigError; the result is frozen. Pure: no file system, no process.env.
 */
export function loadConfig(env: Env, cwd: string = process.cwd()): Readonly<Config> {
  const partial: Partial<Config> = {};
  const issues: { variable: string; message: string }[] = [];
  const ctx = { env, cwd, partial };

  for (const f of FIELDS as readonly Field[]) {
    const raw = env[f.variable];
    if (raw === undefined || raw === '') {
      assign(partial, f, f.defaultValue(ctx));
      continue;
    }
    const parsed = f.parse(raw, ctx);
    if ('problem' in parsed) issues.push({ variable: f.variable, message: parsed.problem });
    else assign(partial, f, parsed.value);
  }

  issues.push(...guardProblems(env));
  if (partial.guard && partial.guard.maxDelay < partial.guard.baseDelay) {
    issues.push({ variable: 'LOGIN_MAX_DELAY', message: 'must not be shorter than LOGIN_BASE_DELAY' });
  }
  if (partial.guard && partial.guard.maxLock < partial.guard.lockFor) {
    issues.push({ variable: 'ACCOUNT_LOCK_MAX', message: 'must not be shorter than ACCOUNT_LOCK' });
  }
  if (partial.nodeEnv === 'production') issues.push(...productionProblems(env, partial));
  if (partial.mailTransport === 'smtp' && !partial.smtpUrl) {
    issues.push({ variable: 'MAIL_TRANSPORT', message: 'is smtp but SMTP_URL is not set' });
  }
  if (
    partial.refreshTokenTtl !== undefined && partial.refreshTokenAbsoluteTtl !== undefined &&
    partial.refreshTokenAbsoluteTtl < partial.refreshTokenTtl
  ) {
    issues.push({ variable: 'REFRESH_TOKEN_ABSOLUTE_TTL', message: 'must not be shorter than REFRESH_TOKEN_TTL' });
  }
  if (partial.keyRotationInterval && partial.keyPrepublish !== undefined && partial.keyRotationInterval <= partial.keyPrepublish) {
    issues.push({ variable: 'KEY_ROTATION_INTERVAL', message: 'must be longer than KEY_PREPUBLISH' });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const config = partial as Config;
  config.databaseKind = config.databaseUrl.startsWith('file:') ? 'sqlite' : 'postgres';
  return freeze(config);
}

/**
 * Production means production: nothing that only suits a developer's machine is defaulted. Each of
 * these would otherwise start quietly: an http://localhost issuer in every token and mail link, cookie
 * secrets generated into a file, verification and reset mail written to a folder nobody reads.
 */
function productionProblems(env: Env, partial: Partial<Config>): { variable: string; message: string }[] {
  const out: { variable: string; message: string }[] = [];
  if (!env.ISSUER) out.push({ variable: 'ISSUER', message: 'is required when NODE_ENV=production (the public https URL of this server)' });
  if (!env.SECRETS) out.push({ variable: 'SECRETS', message: 'is required when NODE_ENV=production' });
  if (!partial.smtpUrl && env.MAIL_TRANSPORT !== 'outbox') {
    out.push({ variable: 'SMTP_URL', message: 'is required when NODE_ENV=production (or set MAIL_TRANSPORT=outbox to write mail to $DATA_DIR/outbox/ on purpose)' });
  }
  return out;
}

function assign(target: Partial<Config>, f: Field, value: unknown): void {
  (target as Record<string, unknown>)[f.key] = value;
}

export function freeze<T extends object>(config: T): Readonly<T> {
  for (const value of Object.values(config)) if (value && typeof value === 'object') Object.freeze(value);
  return Object.freeze(config);
}

/** The effective configuration for display: secrets masked, passwords cut out of URLs. */
export function describeConfig(config: Readonly<Config>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const f of FIELDS as readonly Field[]) {
    const value = config[f.key];
    if (f.key === 'secrets' && value === null) {
      out[f.variable] = `(unset: generated once into ${config.dataDir}/secrets.json)`;
    } else if (f.secret && value !== null && value !== undefined) {
      out[f.variable] = f.key === 'secrets' ? `${(value as string[]).length} secret(s), masked` : maskUrl(String(value));
    } else if (f.key === 'guard') {
      for (const [key, variable] of GUARD_VARIABLES) out[variable] = (value as unknown as Record<string, number>)[key]!;
    } else if (Array.isArray(value)) {
      out[f.variable] = value.join(',');
    } else {
      out[f.variable] = value as string | number | boolean | null;
    }
  }
  return out;
}

function maskUrl(value: string): string {
  if (value.startsWith('file:')) return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return '***';
  }
}
