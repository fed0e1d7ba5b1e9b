import type { GuardSettings } from '../config/schema.js';
import type { LoginGuard, LoginTicket, RefusalReason } from '../guard/login-guard.js';
import type { AuditLog } from '../observability/audit.js';
import type { RequestContext } from './account-deps.js';
import { checkPassword, type AuthenticateDeps } from './authenticate.js';
import { passwordDisabledMail, mailContext, type MailWriter } from './mail-messages.js';
import type { Mailer } from './mailer.js';
import { normalizeEmail } from './normalize.js';
import type { User } from './users.js';

export type LoginResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'banned' | 'unverified' | 'password_disabled'; user: User }
  | { ok: false; reason: 'refused'; refusal: RefusalReason; retryAfter: number };

export interface LoginDeps extends AuthenticateDeps {
  guard: LoginGuard;
  settings: GuardSettings;
  audit: AuditLog;
  mailer: Mailer;
  background: { run(name: string, task: () => Promise<void>): void };
  issuer: string;
  /** The mail templates (accounts/mail-messages.ts); absent: the built-in English ones. */
  mails?: MailWriter;
}

export interface LoginInput {
  email: string;
  password: string;
  /** Where the attempt came from (client IP per TRUST_PROXY, user agent). */
  who: RequestContext & { ip: string };
  /** Set when the browser holds a valid device cookie for this email: it has logged in here before. */
  trustedDevice?: string;
  clientId?: string | null;
}

/**
 * A login attempt through the guard (docs/architecture.md, Brute-force defense): the cheap checks (bans, per-IP, per
 * account+IP or device, per account) decide before any password hash is computed; then the password;
 * then the counters are settled. At PASSWORD_DISABLE_AFTER consecutive failures from browsers the
 * account does not know, the password is disabled for them until a reset and the owner is told by
 * mail; a browser holding the account's device cookie still signs in. Every decision is an audit event.
 */
export async function login(deps: LoginDeps, input: LoginInput): Promise<LoginResult> {
  let email: string;
  try {
    email = normalizeEmail(input.email);
  } catch {
    // A malformed address is a wrong login like any other, counted under what was typed, with
    // control characters made visible (PostgreSQL text cannot hold a NUL; a counter key or audit row
    // must never fail on one).
    email = visible(input.email.trim().toLowerCase().slice(0, 320));
  }
  const context = { ...input.who, email, clientId: input.clientId ?? null };

  const admitted = await deps.guard.admit({ email, ip: input.who.ip, ...(input.trustedDevice ? { device: input.trustedDevice } : {}) });
  if (!admitted.ok) {
    const { refusal } = admitted;
    await deps.audit.record({ type: 'login.throttled', ...context, detail: { reason: refusal.reason, retry_after: refusal.retryAfter } });
    if (refusal.started) await deps.audit.record({ type: 'ip.blocked', ...context, detail: { reason: 'login failures', retry_after: refusal.retryAfter } });
    return { ok: false, reason: 'refused', refusal: refusal.reason, retryAfter: refusal.retryAfter };
  }

  // Until the password has answered, the attempt is only reserved: if the database fails before that
  // (the request answers 503), the reservation is given back.
  let verdict = false;
  try {
    return await settle(deps, input, context, email, admitted.ticket, () => (verdict = true));
  } catch (err) {
    if (!verdict) await deps.guard.abandoned(admitted.ticket).catch(() => undefined);
    throw err;
  }
}

async function settle(
  deps: LoginDeps,
  input: LoginInput,
  context: RequestContext & { ip: string; email: string; clientId: string | null },
  email: string,
  ticket: LoginTicket,
  answered: () => void,
): Promise<LoginResult> {
  const trustedDevice = !ticket.countedOnAccount;
  // Looked up once: the password check and, after a failure, the audit row and the disable use it.
  const user = email.includes('@') ? await deps.users.findByEmail(email) : undefined;
  const result = email.includes('@') ? await checkPassword(deps, user, input.password, { trustedDevice }) : await burn(deps, input.password);
  if (result.ok || result.reason !== 'invalid_credentials') {
    // The password was right (even for a banned or unverified account): the counters start afresh.
    await deps.guard.succeeded(ticket);
    answered();
    await deps.audit.record(
      result.ok
        ? { type: 'login.succeeded', ...context, userId: result.user.id, detail: input.trustedDevice ? { device: 'known' } : {} }
        : { type: 'login.failed', ...context, userId: result.user.id, detail: { reason: result.reason } },
    );
    return result;
  }
  // A wrong password: the reserved attempt is its failure.
  answered();

  const { pool, consecutive, lockedUntil } = await deps.guard.failed(ticket);
  await deps.audit.record({ type: 'login.failed', ...context, userId: user?.id ?? null, detail: { reason: 'invalid_credentials', consecutive } });
  if (lockedUntil !== null) {
    await deps.audit.record({ type: 'user.locked', ...context, userId: user?.id ?? null, detail: { until: new Date(lockedUntil).toISOString(), consecutive } });
  }
  // Only failures from browsers the account does not know disable its password (for those browsers):
  // a trusted device's own failures cost it its trust instead (guard), never the owner's access.
  // Several failures can reach the limit at once: the conditional write lets one of them disable the
  // password, record it and mail the owner.
  if (user && pool === 'account' && consecutive >= deps.settings.disableAfter && !user.passwordDisabledAt && (await deps.users.disablePassword(user.id, deps.clock.now()))) {
    await deps.audit.record({ type: 'user.password_disabled', ...context, userId: user.id, detail: { consecutive } });
    deps.background.run('password disabled mail', () => deps.mailer.send(passwordDisabledMail(mailContext(deps, input.who), user.email)));
  }
  return { ok: false, reason: 'invalid_credentials' };
}

/** Control characters (NUL included) as U+FFFD. */
const visible = (text: string) => text.replace(/[\x00-\x1f\x7f]/g, '\uFFFD');

async function burn(deps: LoginDeps, password: string): Promise<{ ok: false; reason: 'invalid_credentials' }> {
  await deps.hasher.burn(password);
  return { ok: false, reason: 'invalid_credentials' };
}
