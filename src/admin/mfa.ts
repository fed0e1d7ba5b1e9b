import { resetSecondFactors, type SecondFactorDeps } from '../accounts/mfa/second-factors.js';
import type { RequestContext } from '../accounts/account-deps.js';
import type { UserRepository } from '../accounts/users.js';
import { normalizeEmail } from '../accounts/normalize.js';
import { notFound } from '../errors.js';

/**
 * An operator removes every second factor of an account (a person who lost their phone and their
 * recovery codes): the authenticator app and the recovery codes and the passkeys.
 * Audited with the actor (`mfa.reset`) and mailed to the owner. Shared by the CLI and the admin API.
 */
export async function resetUserMfa(
  deps: { users: UserRepository; secondFactors: SecondFactorDeps },
  email: string,
  actor: string,
  who?: RequestContext,
): Promise<{ email: string; totp_removed: boolean; recovery_codes_removed: number; passkeys_removed: number }> {
  const normalized = normalizeEmail(email);
  const user = await deps.users.findByEmail(normalized);
  if (!user) throw notFound(`no user with email ${normalized}`);
  const removed = await resetSecondFactors(deps.secondFactors, user, { actor, ...(who ? { who } : {}) });
  return { email: user.email, totp_removed: removed.totp, recovery_codes_removed: removed.recoveryCodes, passkeys_removed: removed.passkeys };
}
