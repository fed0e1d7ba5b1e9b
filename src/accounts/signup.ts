import type { AccountDeps, RequestContext } from './account-deps.js';
import { accountExistsMail, finishSignupMail, verificationMail, mailContext } from './mail-messages.js';
import { normalizeEmail, normalizePassword } from './normalize.js';
import { issueOneTimeToken } from './one-time-tokens.js';
import { assertAcceptablePassword } from './password-policy.js';
import { newUser } from './users.js';

/**
 * A person asks for an account. The answer is the same whether or not the address is taken
 * (docs/security.md: no enumeration) and so is the work done while the client waits: one password hash
 * and one INSERT (which the unique index refuses for a taken address), one audit row. What differs
 * goes to the background: a new account gets a verification mail; the owner of a taken address
 * gets a notice instead (or, for an account never confirmed, a link to choose its password).
 * Bad input (a malformed email, a refused password) throws a 400 that says why.
 */
export async function signup(deps: AccountDeps, input: { email: unknown; password: unknown }, who: RequestContext = {}): Promise<void> {
  const email = normalizeEmail(input.email);
  assertAcceptablePassword(input.password, { email });
  const now = deps.clock.now();
  const user = newUser({ email, passwordHash: await deps.hasher.hash(normalizePassword(input.password)), now, emailVerifiedAt: null });
  const created = await deps.atomically(async () => {
    const inserted = await deps.users.insert(user);
    await deps.audit.record({ type: 'signup.requested', ...who, email, userId: inserted ? user.id : null, detail: { new_account: inserted } });
    return inserted;
  });
  deps.background.run('signup mail', async () => {
    if (created) {
      const token = await issueOneTimeToken(deps, user.id, 'verify_email');
      await deps.mailer.send(verificationMail(mailContext(deps, who), email, token));
      return;
    }
    const existing = await deps.users.findByEmail(email);
    if (!existing) return;
    if (existing.emailVerifiedAt) {
      await deps.mailer.send(accountExistsMail(mailContext(deps, who), email));
      return;
    }
    const token = await issueOneTimeToken(deps, existing.id, 'reset_password');
    await deps.mailer.send(finishSignupMail(mailContext(deps, who), email, token));
  });
}
