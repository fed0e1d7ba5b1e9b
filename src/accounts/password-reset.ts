import type { AccountDeps, RequestContext } from './account-deps.js';
import { problemOf, type TokenOutcome } from './check-token.js';
import { passwordChangedMail, passwordResetMail, mailContext } from './mail-messages.js';
import { normalizeEmail, normalizePassword } from './normalize.js';
import { hashOneTimeToken, isWellFormedToken, issueOneTimeToken } from './one-time-tokens.js';
import { assertAcceptablePassword } from './password-policy.js';

/**
 * "I forgot my password". Same answer and same work for every well-formed address (one lookup on a
 * unique index, one audit row); the token and the mail for a known account are made in the
 * background, so neither the answer nor its timing says whether the account exists.
 */
export async function requestPasswordReset(deps: AccountDeps, input: { email: unknown }, who: RequestContext = {}): Promise<void> {
  const email = normalizeEmail(input.email);
  const user = await deps.users.findByEmail(email);
  await deps.audit.record({ type: 'password.reset_requested', ...who, email, userId: user?.id ?? null, detail: { known: user !== undefined } });
  if (!user) return;
  deps.background.run('password reset mail', async () => {
    const token = await issueOneTimeToken(deps, user.id, 'reset_password');
    await deps.mailer.send(passwordResetMail(mailContext(deps, who), email, token));
  });
}

/**
 * A new password with the mailed token. The token is checked first (a dead link says so before
 * anyone types a new password), then the password (a refused one leaves the token usable), then the
 * token is spent atomically (two concurrent resets: one wins). On success every session, grant and
 * refresh token of the account is revoked (ASVS 7.4.3), older reset links die, a password disabled
 * after too many failures works again, and the address counts as confirmed (the mail reached it).
 */
export async function resetPassword(
  deps: AccountDeps,
  input: { token: unknown; password: unknown },
  who: RequestContext = {},
): Promise<TokenOutcome> {
  const { token, password } = input;
  if (!isWellFormedToken(token)) return { ok: false, reason: 'invalid' };
  const hash = hashOneTimeToken(token);
  const peeked = await deps.tokens.peek(hash, 'reset_password', deps.clock.now());
  if (peeked.status !== 'valid') return { ok: false, reason: problemOf(peeked) };
  const user = await deps.users.findById(peeked.userId);
  if (!user) return { ok: false, reason: 'invalid' };
  assertAcceptablePassword(password, { email: user.email });
  const passwordHash = await deps.hasher.hash(normalizePassword(password));

  const now = deps.clock.now();
  // One unit: a reset that could not revoke every session did not happen (the link still works).
  const outcome = await deps.atomically(async (): Promise<TokenOutcome> => {
    const consumed = await deps.tokens.consume(hash, 'reset_password', now);
    if (consumed.status !== 'valid') return { ok: false, reason: problemOf(consumed) };
    const updated = await deps.users.update(user.id, { passwordHash, passwordDisabledAt: null, emailVerifiedAt: user.emailVerifiedAt ?? now, updatedAt: now });
    if (!updated) return { ok: false, reason: 'invalid' };
    await deps.tokens.revokeUnused(user.id, 'reset_password');
    await deps.unlockLogin(user.email);
    const revoked = await deps.revokeSessions(user.id);
    await deps.audit.record({ type: 'password.reset', ...who, userId: user.id, email: user.email, detail: { revoked } });
    return { ok: true, user: updated };
  });
  if (outcome.ok) deps.background.run('password changed mail', () => deps.mailer.send(passwordChangedMail(mailContext(deps, who), user.email)));
  return outcome;
}
