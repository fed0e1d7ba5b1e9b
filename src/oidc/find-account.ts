import type { Account, ClaimsParameterMember, FindAccount } from 'oidc-provider';
import type { UserRepository } from '../accounts/users.js';
import { guarded } from './engine-errors.js';

/**
 * Accounts for the protocol engine: `sub` is the user id; the `email` scope adds `email` and
 * `email_verified`. A banned or deleted user has no account here, so their refresh tokens and
 * userinfo calls fail even before the ban's revocation reaches every row.
 */
export function createFindAccount(users: UserRepository): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const user = await guarded(() => users.findById(sub));
    if (!user || user.status !== 'active') return undefined;
    return {
      accountId: user.id,
      async claims(_use: string, scope: string, _claims: { [key: string]: null | ClaimsParameterMember }, _rejected: string[]) {
        const scopes = new Set(scope.split(' '));
        return {
          sub: user.id,
          ...(scopes.has('email') ? { email: user.email, email_verified: user.emailVerifiedAt !== null } : {}),
        };
      },
    };
  };
}
