import type { LoginGuard, RefusalReason } from '../../guard/login-guard.js';
import type { RequestContext } from '../account-deps.js';
import type { User } from '../users.js';
import type { PasskeyDeps } from './passkey-deps.js';
import { identify, verifyPasskey, type PasskeyFailure } from './verify-passkey.js';

export interface PasskeySignInDeps extends PasskeyDeps {
  guard: LoginGuard;
  requireEmailVerification: boolean;
}

export type PasskeySignInResult =
  | { ok: true; user: User; amr: string[] }
  | { ok: false; reason: PasskeyFailure }
  | { ok: false; reason: 'banned' | 'unverified'; user: User }
  | { ok: false; reason: 'refused'; refusal: RefusalReason; retryAfter: number };

/** The guard's account key for answers naming no registered passkey: they still count per IP. */
const UNKNOWN = 'passkey:unknown';

/**
 * Signing in with a discoverable passkey instead of a password, through the same guard as the
 * password (accounts/login.ts): IP bans and blocks, per account+IP (or trusted browser) waits and the
 * account lock decide first; a failed answer counts as a failed login; the right passkey of a banned
 * or unverified account is refused exactly as the right password would be. Every outcome is audited.
 * `binding`: the sign-in interaction that asked for the challenge.
 */
export async function passkeySignIn(
  deps: PasskeySignInDeps,
  input: { credential: string; binding: string; who: RequestContext & { ip: string }; trustedDevice?: (email: string) => string | undefined; clientId?: string | null },
): Promise<PasskeySignInResult> {
  const base = { ...input.who, clientId: input.clientId ?? null };
  const answer = await identify(deps, input.credential);
  if (!answer) {
    await deps.audit.record({ type: 'login.failed', ...base, detail: { method: 'passkey', reason: 'malformed' } });
    return { ok: false, reason: 'malformed' };
  }
  const owner = answer.passkey ? await deps.users.findById(answer.passkey.userId) : undefined;
  const email = owner?.email ?? UNKNOWN;
  const context = { ...base, email: owner?.email ?? null, userId: owner?.id ?? null };
  const device = owner ? input.trustedDevice?.(owner.email) : undefined;

  const admitted = await deps.guard.admit({ email, ip: input.who.ip, ...(device ? { device } : {}) });
  if (!admitted.ok) {
    const { refusal } = admitted;
    await deps.audit.record({ type: 'login.throttled', ...context, detail: { method: 'passkey', reason: refusal.reason, retry_after: refusal.retryAfter } });
    if (refusal.started) await deps.audit.record({ type: 'ip.blocked', ...context, detail: { reason: 'login failures', retry_after: refusal.retryAfter } });
    return { ok: false, reason: 'refused', refusal: refusal.reason, retryAfter: refusal.retryAfter };
  }

  let result;
  try {
    result = await verifyPasskey(deps, answer, input.binding, { discoverable: true });
  } catch (err) {
    await deps.guard.abandoned(admitted.ticket).catch(() => undefined);
    throw err;
  }
  if (!result.ok) {
    const { consecutive } = await deps.guard.failed(admitted.ticket);
    await deps.audit.record({ type: 'login.failed', ...context, detail: { method: 'passkey', reason: result.reason, consecutive } });
    if (result.reason === 'counter_rollback' && result.passkey) {
      await deps.audit.record({ type: 'passkey.counter_rollback', ...context, detail: { passkey: result.passkey.id.slice(0, 16), stored: result.passkey.counter } });
    }
    return { ok: false, reason: result.reason };
  }

  // The passkey answered: the counters start afresh, as after a right password.
  await deps.guard.succeeded(admitted.ticket);
  const user = owner!;
  const detail = { method: 'passkey', amr: result.amr.join(' ') };
  if (user.status === 'banned' || (deps.requireEmailVerification && !user.emailVerifiedAt)) {
    const reason = user.status === 'banned' ? 'banned' : 'unverified';
    await deps.audit.record({ type: 'login.failed', ...context, detail: { ...detail, reason } });
    return { ok: false, reason, user };
  }
  await deps.audit.record({ type: 'login.succeeded', ...context, detail: device ? { ...detail, device: 'known' } : detail });
  return { ok: true, user, amr: result.amr };
}
