import type { Clock } from '../lib/clock.js';
import { normalizePassword } from './normalize.js';
import type { PasswordHasher } from './password-hasher.js';
import type { User, UserRepository } from './users.js';

export type AuthenticationResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid_credentials' }
  /** Only ever reported after the right password (docs/architecture.md: no enumeration of banned accounts). */
  | { ok: false; reason: 'banned'; user: User }
  | { ok: false; reason: 'unverified'; user: User }
  /** The right password, but disabled after too many failures (NIST SP 800-63B) for browsers the
   * account does not know: only a reset helps there. */
  | { ok: false; reason: 'password_disabled'; user: User };

export interface AuthenticateDeps {
  users: UserRepository;
  hasher: PasswordHasher;
  clock: Clock;
  requireEmailVerification: boolean;
}

/**
 * Checks an email and password. Unknown emails and disabled passwords cost one hash like any other
 * attempt, and every failure looks the same to the caller until the password has been proven.
 * `trustedDevice`: the attempt comes from a browser the guard still trusts for this account.
 */
export async function authenticate(
  deps: AuthenticateDeps,
  email: string,
  password: string,
  options: { trustedDevice?: boolean } = {},
): Promise<AuthenticationResult> {
  return checkPassword(deps, await deps.users.findByEmail(email), password, options);
}

/** authenticate() for an account the caller has already looked up by its email (undefined: none). */
export async function checkPassword(
  deps: AuthenticateDeps,
  user: User | undefined,
  password: string,
  options: { trustedDevice?: boolean } = {},
): Promise<AuthenticationResult> {
  const candidate = normalizePassword(password);
  if (!user || !user.passwordHash) {
    await deps.hasher.burn(candidate);
    return { ok: false, reason: 'invalid_credentials' };
  }
  if (!(await deps.hasher.verify(user.passwordHash, candidate))) return { ok: false, reason: 'invalid_credentials' };
  if (user.status === 'banned') return { ok: false, reason: 'banned', user };
  // The failures that disabled the password came from browsers without this account's device
  // cookie; a browser that has signed in here before and still holds its trust is not locked out.
  if (user.passwordDisabledAt && !options.trustedDevice) return { ok: false, reason: 'password_disabled', user };
  if (deps.requireEmailVerification && !user.emailVerifiedAt) return { ok: false, reason: 'unverified', user };
  if (deps.hasher.needsRehash(user.passwordHash)) {
    const rehashed = await deps.hasher.hash(candidate);
    await deps.users.update(user.id, { passwordHash: rehashed, updatedAt: deps.clock.now() });
  }
  return { ok: true, user };
}
