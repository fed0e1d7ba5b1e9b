import { normalizeEmail } from '../accounts/normalize.js';
import type { UserRepository } from '../accounts/users.js';
import { badRequest, notFound } from '../errors.js';
import type { IpBanRepository } from '../guard/bans.js';
import { parseCidr } from '../guard/ip.js';
import type { LoginGuard } from '../guard/login-guard.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { AuditLog } from '../observability/audit.js';

export interface BanDeps {
  users: UserRepository;
  ipBans: IpBanRepository;
  guard: LoginGuard;
  audit: AuditLog;
  clock: Clock;
  /** Where a use case's writes commit together (the operation and its audit row). */
  atomically: UnitOfWork;
  /** Ends every session, grant and refresh token of the account. */
  revokeSessions(userId: string): Promise<number>;
  /** Who did it (the CLI, or the admin API's client id), for the audit log. */
  actor: string;
  /** Where the admin API call came from. */
  who?: { ip?: string | null; userAgent?: string | null };
}

/** The ban use cases' dependencies from the app's services (the CLI and the admin API share this). */
export function banDependencies(
  s: Pick<BanDeps, 'users' | 'ipBans' | 'guard' | 'audit' | 'clock' | 'atomically'> & { oidcStore: { revokeByAccountId(userId: string): Promise<number> } },
  actor: string,
  who?: BanDeps['who'],
): BanDeps {
  return {
    users: s.users,
    ipBans: s.ipBans,
    guard: s.guard,
    audit: s.audit,
    clock: s.clock,
    atomically: s.atomically,
    revokeSessions: (userId) => s.oidcStore.revokeByAccountId(userId),
    actor,
    ...(who ? { who } : {}),
  };
}

async function userOrThrow(users: UserRepository, email: string) {
  const normalized = normalizeEmail(email);
  const user = await users.findByEmail(normalized);
  if (!user) throw notFound(`no user with email ${normalized}`);
  return user;
}

/**
 * Bans a user: login refused ("This account is disabled" only after the right password), and every
 * grant, session and refresh token revoked at once, so refresh fails and introspection says inactive
 * immediately. JWT access tokens already issued are listed in the revocation feed (the store records
 * the subject with the revocation), so offline verifiers refuse them within seconds (docs/architecture.md).
 */
export async function banUser(deps: BanDeps, email: string, reason?: string) {
  const user = await userOrThrow(deps.users, email);
  const now = deps.clock.now();
  // Banning again (to revoke what a session made meanwhile, say) keeps the first ban's time and, unless
  // a new one is given, its reason: the record says why and since when, not who ran the command last.
  const again = user.status === 'banned';
  const revoked = await deps.atomically(async () => {
    await deps.users.update(user.id, {
      status: 'banned',
      banReason: reason?.slice(0, 500) ?? (again ? user.banReason : null),
      bannedAt: again && user.bannedAt ? user.bannedAt : now,
      updatedAt: now,
    });
    const count = await deps.revokeSessions(user.id);
    await deps.audit.record({ ...deps.who, type: 'user.banned', userId: user.id, email: user.email, detail: { reason: reason ?? null, revoked: count, by: deps.actor } });
    return count;
  });
  return { email: user.email, status: 'banned' as const, revoked };
}

export async function unbanUser(deps: BanDeps, email: string) {
  const user = await userOrThrow(deps.users, email);
  await deps.atomically(async () => {
    await deps.users.update(user.id, { status: 'active', banReason: null, bannedAt: null, updatedAt: deps.clock.now() });
    await deps.audit.record({ ...deps.who, type: 'user.unbanned', userId: user.id, email: user.email, detail: { by: deps.actor } });
  });
  return { email: user.email, status: 'active' as const };
}

/**
 * Signs a user out everywhere without banning: every session, grant and refresh token revoked, and
 * the access tokens issued until now listed in the revocation feed (the store records the subject).
 * The user can sign in again at once.
 */
export async function signOutUser(deps: BanDeps, email: string) {
  const user = await userOrThrow(deps.users, email);
  const revoked = await deps.atomically(async () => {
    const count = await deps.revokeSessions(user.id);
    await deps.audit.record({ ...deps.who, type: 'user.signed_out', userId: user.id, email: user.email, detail: { revoked: count, by: deps.actor } });
    return count;
  });
  return { email: user.email, revoked };
}

/** Lifts the account's login lock and re-enables a password disabled after too many failures. */
export async function unlockUser(deps: BanDeps, email: string) {
  const user = await userOrThrow(deps.users, email);
  await deps.atomically(async () => {
    await deps.guard.unlock(user.email);
    if (user.passwordDisabledAt) await deps.users.update(user.id, { passwordDisabledAt: null, updatedAt: deps.clock.now() });
    await deps.audit.record({ ...deps.who, type: 'user.unlocked', userId: user.id, email: user.email, detail: { password_reenabled: user.passwordDisabledAt !== null, by: deps.actor } });
  });
  return { email: user.email, unlocked: true as const };
}

export async function banIp(deps: BanDeps, target: string, options: { seconds?: number; reason?: string } = {}) {
  const cidr = parseCidr(target);
  if (!cidr) throw badRequest(`"${target}" is not an IP address or CIDR range`);
  const now = deps.clock.now();
  const expiresAt = options.seconds ? new Date(now.getTime() + options.seconds * 1000) : null;
  await deps.atomically(async () => {
    // As for accounts: banning an address again (to change how long) keeps its reason unless a new one is given.
    const kept = options.reason === undefined ? ((await deps.ipBans.active(now)).find((b) => b.cidr === cidr)?.reason ?? null) : null;
    await deps.ipBans.put({ cidr, reason: options.reason?.slice(0, 500) ?? kept, createdAt: now, expiresAt });
    await deps.audit.record({ ...deps.who, type: 'ip.banned', detail: { target: cidr, reason: options.reason ?? null, expires_at: expiresAt?.toISOString() ?? null, by: deps.actor } });
  });
  return { ip: cidr, expires_at: expiresAt?.toISOString() ?? null };
}

export async function unbanIp(deps: BanDeps, target: string) {
  const cidr = parseCidr(target);
  if (!cidr) throw badRequest(`"${target}" is not an IP address or CIDR range`);
  await deps.atomically(async () => {
    if (!(await deps.ipBans.delete(cidr))) throw notFound(`no ban for ${cidr}`);
    await deps.audit.record({ ...deps.who, type: 'ip.unbanned', detail: { target: cidr, by: deps.actor } });
  });
  return { ip: cidr, banned: false as const };
}

export async function listIpBans(deps: Pick<BanDeps, 'ipBans' | 'clock'>) {
  return (await deps.ipBans.active(deps.clock.now())).map((b) => ({
    ip: b.cidr,
    reason: b.reason,
    created_at: b.createdAt.toISOString(),
    expires_at: b.expiresAt?.toISOString() ?? null,
  }));
}
