import { FieldError, tooManyRequests, AppError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { seal, unseal } from '../../lib/seal.js';
import type { UnitOfWork } from '../../lib/unit-of-work.js';
import type { LoginGuard, RefusalReason } from '../../guard/login-guard.js';
import type { AuditLog } from '../../observability/audit.js';
import type { RequestContext } from '../account-deps.js';
import { mailContext, mfaResetMail, recoveryCodeUsedMail, type MailWriter } from '../mail-messages.js';
import type { Mailer } from '../mailer.js';
import type { User } from '../users.js';
import type { MfaStore } from './mfa-store.js';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.js';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';

/**
 * Second factors (docs/second-factors.md): an authenticator app (TOTP) and recovery codes. Enrolment
 * and management belong to the signed-in person (account page); the check after the password goes
 * through the login guard like a password (accounts/login.ts), so guesses are throttled and counted.
 */
export interface SecondFactorDeps {
  mfa: MfaStore;
  guard: LoginGuard;
  secrets: readonly string[];
  clock: Clock;
  audit: AuditLog;
  mailer: Mailer;
  mails?: MailWriter;
  background: { run(name: string, task: () => Promise<void>): void };
  issuer: string;
  /** The name apps show next to the code (the product's name). */
  productName: string;
  /** The account's passkeys (accounts/passkeys/): one may stand in for the app's code, and a reset removes them. */
  passkeys?: { listByUser(userId: string): Promise<unknown[]>; removeAll(userId: string): Promise<number> };
  /** One unit of work: turning a factor on or off writes several rows and its audit event, all or none. */
  atomically: UnitOfWork;
}

/** The methods a person can use at the second step. */
export type SecondFactorMethod = 'passkey' | 'totp' | 'recovery_code';

export interface SecondFactorStatus {
  totp: 'none' | 'pending' | 'enabled';
  recoveryCodesLeft: number;
  /** What the second-factor step offers this person (empty: no second factor). */
  methods: SecondFactorMethod[];
}

/** The sealed secret's purpose (lib/seal.ts): its own key, derived from SECRETS. */
const TOTP_SEAL = 'totp-secret';

type Who = RequestContext & { ip: string };

export async function secondFactorStatus(deps: Pick<SecondFactorDeps, 'mfa' | 'passkeys'>, userId: string): Promise<SecondFactorStatus> {
  const [totp, recoveryCodesLeft, passkeys] = await Promise.all([
    deps.mfa.findTotp(userId),
    deps.mfa.unusedRecoveryCodes(userId),
    deps.passkeys ? deps.passkeys.listByUser(userId) : Promise.resolve([]),
  ]);
  const state = !totp ? 'none' : totp.confirmedAt ? 'enabled' : 'pending';
  // A passkey is offered at the second step of an account that turned two-step sign-in on (its app,
  // with recovery codes as the way back). A passkey alone does not add a step to password sign-ins:
  // losing it would then lock its owner out with no recovery code to fall back on.
  const methods: SecondFactorMethod[] = state === 'enabled' ? [...(passkeys.length > 0 ? (['passkey'] as const) : []), 'totp', 'recovery_code'] : [];
  return { totp: state, recoveryCodesLeft, methods };
}

/** The plaintext secret; a secret sealed with an older SECRETS entry is sealed again with the first. */
async function openSecret(deps: SecondFactorDeps, userId: string, sealed: string): Promise<string> {
  const secret = unseal(sealed, deps.secrets, TOTP_SEAL);
  if (secret === undefined) throw new AppError('server_error', 'the authenticator secret cannot be opened with any of SECRETS');
  if (deps.secrets.length > 1 && unseal(sealed, deps.secrets.slice(0, 1), TOTP_SEAL) === undefined) {
    await deps.mfa.resealTotp(userId, sealed, seal(secret, deps.secrets, TOTP_SEAL));
  }
  return secret;
}

/** Starts (or shows again) an enrolment: the secret as text and as the otpauth:// URI for the QR code. */
export async function startTotpEnrolment(deps: SecondFactorDeps, user: User): Promise<{ secret: string; uri: string }> {
  const existing = await deps.mfa.findTotp(user.id);
  if (existing?.confirmedAt) throw new AppError('invalid_request', 'An authenticator app is already enabled; disable it first.');
  let secret = existing ? await openSecret(deps, user.id, existing.secret) : undefined;
  if (!secret) {
    secret = newTotpSecret();
    if (!(await deps.mfa.startTotp({ userId: user.id, secret: seal(secret, deps.secrets, TOTP_SEAL), createdAt: deps.clock.now() }))) {
      throw new AppError('invalid_request', 'An authenticator app is already enabled; disable it first.');
    }
  }
  return { secret, uri: totpUri(secret, user.email, deps.productName) };
}

const wrongCode = () => new FieldError('code', 'incorrect', 'The code is not correct. Type the code your app shows now.');

/**
 * The first code from the app proves it holds the secret: only then is the factor enabled. The first
 * factor of an account also gets its recovery codes, returned to be shown once.
 */
export async function confirmTotpEnrolment(deps: SecondFactorDeps, user: User, code: string, who: Who): Promise<{ recoveryCodes: string[] | undefined }> {
  const pending = await deps.mfa.findTotp(user.id);
  if (!pending || pending.confirmedAt) throw new AppError('invalid_request', 'There is no authenticator app waiting to be confirmed.');
  const step = matchTotp(await openSecret(deps, user.id, pending.secret), code.trim(), deps.clock.now());
  if (step === undefined) {
    await deps.audit.record({ type: 'mfa.failed', ...who, userId: user.id, email: user.email, detail: { method: 'totp', stage: 'enrolment' } });
    throw wrongCode();
  }
  // Enabled together with its first recovery codes, or not at all: never an app without a way back.
  return deps.atomically(async () => {
    if (!(await deps.mfa.confirmTotp(user.id, step, deps.clock.now()))) throw new AppError('invalid_request', 'There is no authenticator app waiting to be confirmed.');
    await deps.audit.record({ type: 'mfa.totp_enabled', ...who, userId: user.id, email: user.email });
    const recoveryCodes = (await deps.mfa.unusedRecoveryCodes(user.id)) === 0 ? await issueRecoveryCodes(deps, user, who) : undefined;
    return { recoveryCodes };
  });
}

/** Ten new codes replace every earlier one; returned once, only their hashes kept. */
export async function issueRecoveryCodes(deps: SecondFactorDeps, user: User, who: Who): Promise<string[]> {
  const codes = newRecoveryCodes();
  await deps.mfa.replaceRecoveryCodes(user.id, codes.map((c) => hashRecoveryCode(normalizeRecoveryCode(c)!)), deps.clock.now());
  await deps.audit.record({ type: 'mfa.recovery_regenerated', ...who, userId: user.id, email: user.email, detail: { count: codes.length } });
  return codes;
}

/** New recovery codes from the account page: only for an account with a second factor. */
export async function regenerateRecoveryCodes(deps: SecondFactorDeps, user: User, who: Who): Promise<string[]> {
  const status = await secondFactorStatus(deps, user.id);
  if (status.totp !== 'enabled') throw new AppError('invalid_request', 'Enable an authenticator app first.');
  return issueRecoveryCodes(deps, user, who);
}

export type SecondFactorResult =
  | { ok: true; method: SecondFactorMethod; amr: string[] }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'refused'; refusal: RefusalReason; retryAfter: number };

/**
 * A code typed at the second step (or to disable the app): a 6-digit code from the app, or a recovery
 * code. Admitted by the guard first (the same IP window as passwords, per-account counters of its
 * own); a wrong, replayed or malformed code is a failure like a wrong password. A TOTP step, once
 * accepted, is never accepted again; a recovery code works once, is audited and mailed to the owner.
 */
export async function checkSecondFactor(
  deps: SecondFactorDeps,
  input: { user: User; code: string; who: Who; trustedDevice?: string; clientId?: string | null; purpose?: 'sign_in' | 'disable' },
): Promise<SecondFactorResult> {
  const { user, who } = input;
  const context = { ...who, userId: user.id, email: user.email, clientId: input.clientId ?? null };
  const admitted = await deps.guard.admit({ email: user.email, ip: who.ip, factor: 'second_factor', ...(input.trustedDevice ? { device: input.trustedDevice } : {}) });
  if (!admitted.ok) {
    await deps.audit.record({ type: 'mfa.throttled', ...context, detail: { reason: admitted.refusal.reason, retry_after: admitted.refusal.retryAfter } });
    if (admitted.refusal.started) await deps.audit.record({ type: 'ip.blocked', ...context, detail: { reason: 'second factor failures', retry_after: admitted.refusal.retryAfter } });
    return { ok: false, reason: 'refused', refusal: admitted.refusal.reason, retryAfter: admitted.refusal.retryAfter };
  }
  let answered = false;
  try {
    const method = await verify(deps, user, input.code);
    answered = true;
    if (method) {
      await deps.guard.succeeded(admitted.ticket);
      await deps.audit.record({ type: method === 'recovery_code' ? 'mfa.recovery_used' : 'mfa.succeeded', ...context, detail: { method, purpose: input.purpose ?? 'sign_in' } });
      if (method === 'recovery_code') {
        const left = await deps.mfa.unusedRecoveryCodes(user.id);
        deps.background.run('recovery code used mail', () => deps.mailer.send(recoveryCodeUsedMail(mailContext(deps, who), user.email, left)));
      }
      // RFC 8176: `otp` for a one-time password (a recovery code is one too), `mfa` for two factors.
      return { ok: true, method, amr: ['pwd', 'otp', 'mfa'] };
    }
    const { consecutive, lockedUntil } = await deps.guard.failed(admitted.ticket);
    await deps.audit.record({ type: 'mfa.failed', ...context, detail: { consecutive, purpose: input.purpose ?? 'sign_in' } });
    if (lockedUntil !== null) await deps.audit.record({ type: 'user.locked', ...context, detail: { until: new Date(lockedUntil).toISOString(), consecutive, factor: 'second_factor' } });
    return { ok: false, reason: 'invalid' };
  } catch (err) {
    if (!answered) await deps.guard.abandoned(admitted.ticket).catch(() => undefined);
    throw err;
  }
}

async function verify(deps: SecondFactorDeps, user: User, typed: string): Promise<SecondFactorMethod | undefined> {
  const code = typed.trim().replace(/\s/g, '');
  if (/^\d{6}$/.test(code)) {
    const factor = await deps.mfa.findTotp(user.id);
    if (!factor?.confirmedAt) return undefined;
    const now = deps.clock.now();
    const step = matchTotp(await openSecret(deps, user.id, factor.secret), code, now);
    // acceptStep is one conditional write: a replayed (or an earlier) step, or the loser of two
    // racing requests with one code, is refused.
    return step !== undefined && (await deps.mfa.acceptStep(user.id, step, now)) ? 'totp' : undefined;
  }
  const recovery = normalizeRecoveryCode(code);
  if (!recovery) return undefined;
  return (await deps.mfa.useRecoveryCode(user.id, hashRecoveryCode(recovery), deps.clock.now())) ? 'recovery_code' : undefined;
}

/** Turning the app off needs a current code (or the password, checked by the caller). */
export async function disableTotp(deps: SecondFactorDeps, user: User, proof: { code?: string; passwordChecked?: boolean }, who: Who, trustedDevice?: string): Promise<void> {
  if (!proof.passwordChecked) {
    const result = await checkSecondFactor(deps, { user, code: proof.code ?? '', who, purpose: 'disable', ...(trustedDevice ? { trustedDevice } : {}) });
    if (!result.ok && result.reason === 'refused') throw tooManyRequests('Too many wrong codes; try again later.', result.retryAfter);
    if (!result.ok) throw wrongCode();
  }
  await deps.atomically(async () => {
    await removeFactors(deps, user.id);
    await deps.audit.record({ type: 'mfa.totp_disabled', ...who, userId: user.id, email: user.email, detail: { proof: proof.passwordChecked ? 'password' : 'code' } });
  });
}

/** The authenticator app and the recovery codes of an account (its passkeys stay: see resetSecondFactors). */
async function removeFactors(deps: Pick<SecondFactorDeps, 'mfa'>, userId: string): Promise<{ totp: boolean; recoveryCodes: number }> {
  const totp = await deps.mfa.deleteTotp(userId);
  const recoveryCodes = await deps.mfa.deleteRecoveryCodes(userId);
  return { totp, recoveryCodes };
}

/** An operator's reset (CLI `users mfa reset`, admin API): every factor goes; audited with the actor, mailed. */
export async function resetSecondFactors(deps: SecondFactorDeps, user: User, actor: { actor: string; who?: RequestContext }): Promise<{ totp: boolean; recoveryCodes: number; passkeys: number }> {
  // Every factor goes, or none: a reset that failed half-way would leave an account its owner can
  // neither use nor see the state of.
  const removed = await deps.atomically(async () => {
    const gone = { ...(await removeFactors(deps, user.id)), passkeys: (await deps.passkeys?.removeAll(user.id)) ?? 0 };
    await deps.audit.record({ type: 'mfa.reset', ...(actor.who ?? {}), userId: user.id, email: user.email, detail: { actor: actor.actor, ...gone } });
    return gone;
  });
  deps.background.run('second factors reset mail', () => deps.mailer.send(mfaResetMail(mailContext(deps), user.email)));
  return removed;
}
