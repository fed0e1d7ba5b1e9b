import type { User } from '../accounts/users.js';

/** A user as the CLI and the admin API show it (never the password hash). */
export function userView(u: User) {
  return {
    id: u.id,
    email: u.email,
    status: u.status,
    email_verified: u.emailVerifiedAt !== null,
    password_disabled: u.passwordDisabledAt !== null,
    ban_reason: u.banReason,
    banned_at: u.bannedAt ? u.bannedAt.toISOString() : null,
    created_at: u.createdAt.toISOString(),
  };
}
