import { AppError, FieldError, tooManyRequests } from '../errors.js';
import type { AccountDeps, RequestContext } from './account-deps.js';
import type { ConnectedApp, SessionDirectory, SessionInfo } from './account-sessions.js';
import { problemOf, type TokenOutcome } from './check-token.js';
import { login, type LoginDeps } from './login.js';
import { accountDeletedMail, emailChangeMail, emailChangeNoticeMail, emailChangeTakenMail, passwordChangedMail, mailContext } from './mail-messages.js';
import { normalizeEmail, normalizePassword } from './normalize.js';
import { hashOneTimeToken, isWellFormedToken, issueOneTimeToken } from './one-time-tokens.js';
import { checkPassword, PASSWORD_PROBLEMS } from './password-policy.js';
import type { User } from './users.js';

/**
 * What a signed-in person does with their own account (the account page and its JSON API): change the
 * password or the address, see and end sessions, disconnect apps, delete the account. Every action is
 * audited; the ones that check the password go through the login guard (accounts/login.ts), so they
 * are throttled and counted exactly like a sign-in.
 */
export interface SelfServiceDeps extends AccountDeps {
  login: LoginDeps;
  sessions: SessionDirectory;
}

/** Who is acting: the signed-in account, this browser's session, where the request came from. */
export interface Actor {
  user: User;
  /** The engine's id of the session making the request (kept signed in by a password change). */
  sessionId: string;
  who: RequestContext & { ip: string };
  /** The browser's device cookie for this account, when it has one (accounts/login.ts). */
  trustedDevice?: string;
}

export const WRONG_PASSWORD = 'The current password is not correct.';

/** The password proves the person is still the owner: a login through the guard (throttled, counted, audited). */
export async function reauthenticate(deps: SelfServiceDeps, actor: Actor, password: unknown): Promise<void> {
  if (typeof password !== 'string' || password.length === 0) throw new FieldError('current_password', 'missing', 'Enter your current password.');
  const result = await login(deps.login, {
    email: actor.user.email,
    password,
    who: actor.who,
    ...(actor.trustedDevice ? { trustedDevice: actor.trustedDevice } : {}),
  });
  if (result.ok && result.user.id === actor.user.id) return;
  if (!result.ok && result.reason === 'refused') {
    if (result.refusal === 'ip_banned') throw new AppError('access_denied', 'Requests from this network are blocked.');
    throw tooManyRequests('Too many attempts with a wrong password; try again later.', result.retryAfter);
  }
  if (!result.ok && result.reason === 'banned') throw new AppError('access_denied', 'This account is disabled.');
  throw new FieldError('current_password', 'incorrect', WRONG_PASSWORD);
}

export interface AccountOverview {
  email: string;
  emailVerified: boolean;
  createdAt: Date;
  sessions: (SessionInfo & { current: boolean })[];
  apps: ConnectedApp[];
}

export async function accountOverview(deps: SelfServiceDeps, actor: Pick<Actor, 'user' | 'sessionId'> & { sessionUid: string }): Promise<AccountOverview> {
  const { sessions, apps } = await deps.sessions.list(actor.user.id);
  return {
    email: actor.user.email,
    emailVerified: actor.user.emailVerifiedAt !== null,
    createdAt: actor.user.createdAt,
    sessions: sessions.map((s) => ({ ...s, current: s.uid === actor.sessionUid })),
    apps,
  };
}

/**
 * ASVS 6.2.3: the current password is required. Every other session, grant and refresh token of the
 * account is revoked (this browser stays signed in); the owner is told by mail.
 */
export async function changePassword(deps: SelfServiceDeps, actor: Actor, input: { currentPassword: unknown; newPassword: unknown }): Promise<{ revoked: number }> {
  if (typeof input.currentPassword !== 'string' || input.currentPassword.length === 0) {
    throw new FieldError('current_password', 'missing', 'Enter your current password.');
  }
  const problem = checkPassword(input.newPassword, { email: actor.user.email });
  if (problem) throw new FieldError('new_password', problem, PASSWORD_PROBLEMS[problem]);
  await reauthenticate(deps, actor, input.currentPassword);
  const passwordHash = await deps.hasher.hash(normalizePassword(input.newPassword as string));
  const now = deps.clock.now();
  const revoked = await deps.atomically(async () => {
    await deps.users.update(actor.user.id, { passwordHash, passwordDisabledAt: null, updatedAt: now });
    await deps.tokens.revokeUnused(actor.user.id, 'reset_password');
    const n = await deps.sessions.revokeAll(actor.user.id, actor.sessionId);
    await deps.audit.record({ type: 'password.changed', ...actor.who, userId: actor.user.id, email: actor.user.email, detail: { revoked: n } });
    return n;
  });
  deps.background.run('password changed mail', () => deps.mailer.send(passwordChangedMail(mailContext(deps, actor.who), actor.user.email)));
  return { revoked };
}

/**
 * A new address takes effect only when the link mailed to it is used; the current address is told
 * at once. An address that already has an account gets a notice instead of a link, and the answer is
 * the same (a signed-in person learns nothing about other accounts).
 */
export async function requestEmailChange(deps: SelfServiceDeps, actor: Actor, input: { email: unknown; password: unknown }): Promise<{ email: string }> {
  const email = normalizeEmail(input.email);
  if (email === actor.user.email) throw new FieldError('email', 'unchanged', 'This is already the address of your account.');
  await reauthenticate(deps, actor, input.password);
  const taken = (await deps.users.findByEmail(email)) !== undefined;
  await deps.audit.record({ type: 'email.change_requested', ...actor.who, userId: actor.user.id, email: actor.user.email, detail: { to: email } });
  const user = actor.user;
  deps.background.run('email change mails', async () => {
    if (taken) {
      await deps.mailer.send(emailChangeTakenMail(mailContext(deps, actor.who), email));
    } else {
      await deps.tokens.revokeUnused(user.id, 'change_email');
      const token = await issueOneTimeToken(deps, user.id, 'change_email', email);
      await deps.mailer.send(emailChangeMail(mailContext(deps, actor.who), email, token));
    }
    await deps.mailer.send(emailChangeNoticeMail(mailContext(deps, actor.who), user.email, email));
  });
  return { email };
}

/** The link from the new address: the address becomes the account's (and counts as confirmed). */
export async function confirmEmailChange(deps: AccountDeps, token: unknown, who: RequestContext = {}): Promise<TokenOutcome> {
  if (!isWellFormedToken(token)) return { ok: false, reason: 'invalid' };
  const hash = hashOneTimeToken(token);
  const now = deps.clock.now();
  const peeked = await deps.tokens.peek(hash, 'change_email', now);
  if (peeked.status !== 'valid') return { ok: false, reason: problemOf(peeked) };
  const email = peeked.data;
  const user = await deps.users.findById(peeked.userId);
  if (!user || !email) return { ok: false, reason: 'invalid' };
  // Taken since the request: the link can do nothing any more.
  if (await deps.users.findByEmail(email)) return { ok: false, reason: 'invalid' };
  return deps.atomically(async (): Promise<TokenOutcome> => {
    const consumed = await deps.tokens.consume(hash, 'change_email', now);
    if (consumed.status !== 'valid') return { ok: false, reason: problemOf(consumed) };
    const updated = await deps.users.update(user.id, { email, emailVerifiedAt: now, updatedAt: now });
    if (!updated) return { ok: false, reason: 'invalid' };
    await deps.audit.record({ type: 'email.changed', ...who, userId: user.id, email, detail: { from: user.email } });
    return { ok: true, user: updated };
  });
}

export async function endSession(deps: SelfServiceDeps, actor: Actor, uid: string): Promise<void> {
  if (!(await deps.sessions.endSession(actor.user.id, uid))) throw new AppError('not_found', 'There is no such session of your account.');
  await deps.audit.record({ type: 'session.ended', ...actor.who, userId: actor.user.id, email: actor.user.email, detail: { current: false } });
}

export async function disconnectApp(deps: SelfServiceDeps, actor: Actor, clientId: string): Promise<void> {
  if (!(await deps.sessions.disconnect(actor.user.id, clientId))) throw new AppError('not_found', 'This app is not connected to your account.');
  await deps.audit.record({ type: 'app.disconnected', ...actor.who, userId: actor.user.id, email: actor.user.email, clientId });
}

/** Every session (this one included), grant and token of the account. */
export async function signOutEverywhere(deps: SelfServiceDeps, actor: Actor): Promise<{ revoked: number }> {
  const revoked = await deps.sessions.revokeAll(actor.user.id);
  await deps.audit.record({ type: 'account.signed_out_everywhere', ...actor.who, userId: actor.user.id, email: actor.user.email, detail: { revoked } });
  return { revoked };
}

/**
 * Deleting is immediate (docs/architecture.md, The account page): after the password, the account,
 * every session, grant and token, and every unused mailed link are gone in one unit; the audit log
 * keeps the event; the address is told.
 */
export async function deleteAccount(deps: SelfServiceDeps, actor: Actor, input: { password: unknown }): Promise<void> {
  await reauthenticate(deps, actor, input.password);
  const { user } = actor;
  await deps.atomically(async () => {
    const revoked = await deps.sessions.revokeAll(user.id);
    for (const purpose of ['verify_email', 'reset_password', 'change_email'] as const) await deps.tokens.revokeUnused(user.id, purpose);
    await deps.removeSecondFactors?.(user.id);
    await deps.removePasskeys?.(user.id);
    await deps.users.delete(user.id);
    await deps.audit.record({ type: 'account.deleted', ...actor.who, userId: user.id, email: user.email, detail: { revoked } });
  });
  deps.background.run('account deleted mail', () => deps.mailer.send(accountDeletedMail(mailContext(deps, actor.who), user.email)));
}
