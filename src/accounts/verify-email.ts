import type { AccountDeps, RequestContext } from './account-deps.js';
import { problemOf, type TokenOutcome } from './check-token.js';
import { verificationMail, mailContext } from './mail-messages.js';
import { hashOneTimeToken, isWellFormedToken, issueOneTimeToken } from './one-time-tokens.js';
import type { User } from './users.js';

/** The person pressed the button on the verification page: the address is confirmed, the token spent. */
export async function verifyEmail(deps: AccountDeps, token: unknown, who: RequestContext = {}): Promise<TokenOutcome> {
  if (!isWellFormedToken(token)) return { ok: false, reason: 'invalid' };
  const hash = hashOneTimeToken(token);
  const now = deps.clock.now();
  // One unit: the link stays usable unless the confirmation is stored with it.
  return deps.atomically(async (): Promise<TokenOutcome> => {
    const state = await deps.tokens.consume(hash, 'verify_email', now);
    if (state.status !== 'valid') return { ok: false, reason: problemOf(state) };
    let user: User | undefined = await deps.users.findById(state.userId);
    if (user && !user.emailVerifiedAt) user = await deps.users.update(user.id, { emailVerifiedAt: now, updatedAt: now });
    if (!user) return { ok: false, reason: 'invalid' };
    await deps.tokens.revokeUnused(user.id, 'verify_email');
    await deps.audit.record({ type: 'email.verified', ...who, userId: user.id, email: user.email });
    return { ok: true, user };
  });
}

/**
 * A new verification mail for an account that proved its password but not yet its address (the
 * login page offers it). Sent in the background; nothing happens for a confirmed or missing account.
 */
export async function resendVerification(deps: AccountDeps, userId: string, who: RequestContext = {}): Promise<void> {
  const user = await deps.users.findById(userId);
  if (!user || user.emailVerifiedAt) return;
  await deps.audit.record({ type: 'email.verification_resent', ...who, userId: user.id, email: user.email });
  deps.background.run('verification mail', async () => {
    const token = await issueOneTimeToken(deps, user.id, 'verify_email');
    await deps.mailer.send(verificationMail(mailContext(deps, who), user.email, token));
  });
}
