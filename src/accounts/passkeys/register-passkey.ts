import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import type { RequestContext } from '../account-deps.js';
import type { User } from '../users.js';
import { parseRegistration } from './browser-answer.js';
import { claimedChallenge, rememberChallenge, takeChallenge } from './challenges.js';
import { CEREMONY_TIMEOUT_MS, NAME_MAX, type PasskeyDeps } from './passkey-deps.js';
import type { Passkey } from './passkey-store.js';
import { webauthn } from './webauthn.js';

export type RegistrationResult =
  | { ok: true; passkey: Passkey }
  /** malformed: not a WebAuthn answer; challenge: unknown, used, expired or someone else's;
   * invalid: the library refused it (origin, RP ID, user verification, signature); duplicate: that
   * credential is registered already. */
  | { ok: false; reason: 'malformed' | 'challenge' | 'invalid' | 'duplicate' };

/**
 * Options for navigator.credentials.create(): a discoverable credential (resident key required, so
 * it can sign in without an email), user verification required (it replaces the password), no
 * attestation (WebAuthn `none`: we do not vet authenticator makes), the account's passkeys excluded.
 */
export async function startRegistration(deps: PasskeyDeps, user: User, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await deps.store.listByUser(user.id);
  const options = await (await webauthn()).generateRegistrationOptions({
    rpName: deps.rp.name,
    rpID: deps.rp.id,
    userName: user.email,
    userDisplayName: user.email,
    // The user handle (WebAuthn §14.6.1: no personal data): the account id, which a discoverable
    // sign-in hands back.
    userID: new TextEncoder().encode(user.id),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
  });
  await rememberChallenge(deps, options.challenge, 'register', binding, user.id);
  return options;
}

/** Verifies the browser's answer and stores the new passkey under the name the person gave it. */
export async function finishRegistration(
  deps: PasskeyDeps,
  user: User,
  binding: string,
  input: { credential: string; name: string },
  who: RequestContext,
): Promise<RegistrationResult> {
  const response = parseRegistration(input.credential);
  const claimed = response && claimedChallenge(response.response.clientDataJSON);
  if (!response || !claimed) return { ok: false, reason: 'malformed' };
  const pending = await takeChallenge(deps, claimed, 'register', binding);
  if (!pending || pending.userId !== user.id) return { ok: false, reason: 'challenge' };

  let verified;
  try {
    verified = await (await webauthn()).verifyRegistrationResponse({
      response,
      expectedChallenge: claimed,
      expectedOrigin: deps.rp.origin,
      expectedRPID: deps.rp.id,
      requireUserVerification: true,
    });
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (!verified.verified) return { ok: false, reason: 'invalid' };
  const info = verified.registrationInfo;
  const now = deps.clock.now();
  const existing = await deps.store.listByUser(user.id);
  const passkey: Passkey = {
    id: info.credential.id,
    userId: user.id,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: (info.credential.transports ?? []).slice(0, 10),
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    name: passkeyName(input.name, existing.length + 1),
    createdAt: now,
    lastUsedAt: null,
  };
  if (!(await deps.store.insert(passkey))) return { ok: false, reason: 'duplicate' };
  await deps.audit.record({
    type: 'passkey.registered',
    ...who,
    userId: user.id,
    email: user.email,
    detail: { passkey: passkey.id.slice(0, 16), device_type: passkey.deviceType, backed_up: passkey.backedUp },
  });
  return { ok: true, passkey };
}

/** A name as typed (trimmed, control characters dropped, at most NAME_MAX), or "Passkey N". */
export function passkeyName(typed: string, n: number): string {
  const clean = typed.replace(/[\x00-\x1f\x7f]/g, '').trim().slice(0, NAME_MAX);
  return clean.length > 0 ? clean : `Passkey ${n}`;
}
