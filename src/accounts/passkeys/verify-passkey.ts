import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { parseAuthentication } from './browser-answer.js';
import { claimedChallenge, rememberChallenge, takeChallenge } from './challenges.js';
import { CEREMONY_TIMEOUT_MS, type PasskeyDeps } from './passkey-deps.js';
import type { Passkey } from './passkey-store.js';
import { webauthn } from './webauthn.js';

/** Whose passkey may answer: any discoverable one (sign-in without an email), or one of this
 * account's (a passkey as a second factor after the password). */
export type Expected = { discoverable: true } | { userId: string };

export type PasskeyFailure = 'malformed' | 'unknown_credential' | 'challenge' | 'invalid' | 'counter_rollback';

export type VerifyResult =
  | { ok: true; passkey: Passkey; amr: string[] }
  | { ok: false; reason: PasskeyFailure; passkey?: Passkey };

/** A browser's answer, read far enough to know which passkey it claims to be (before any check). */
export interface Identified {
  response: AuthenticationResponseJSON;
  challenge: string;
  passkey: Passkey | undefined;
}

/**
 * Options for navigator.credentials.get(). Discoverable: no allow list, so the browser offers every
 * passkey it holds for this RP (also in the email field's autofill: conditional mediation). For one
 * account: its passkeys only. User verification is required: the passkey alone signs in.
 */
export async function startAuthentication(deps: PasskeyDeps, binding: string, expected: Expected): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allow = 'userId' in expected ? (await deps.store.listByUser(expected.userId)).map((p) => ({ id: p.id, transports: p.transports })) : undefined;
  const options = await (await webauthn()).generateAuthenticationOptions({
    rpID: deps.rp.id,
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: 'required',
    ...(allow ? { allowCredentials: allow } : {}),
  });
  await rememberChallenge(deps, options.challenge, 'sign_in', binding, 'userId' in expected ? expected.userId : null);
  return options;
}

export async function identify(deps: PasskeyDeps, credential: string): Promise<Identified | undefined> {
  const response = parseAuthentication(credential);
  const challenge = response && claimedChallenge(response.response.clientDataJSON);
  if (!response || !challenge) return undefined;
  return { response, challenge, passkey: await deps.store.find(response.id) };
}

/**
 * Checks an identified answer: the challenge (consumed here, whatever the outcome: one answer per
 * challenge), the passkey's owner, then signature, origin, RP ID and user verification (the library),
 * then the signature counter. A counter that does not move forward, when either side counts, means
 * the authenticator was cloned (WebAuthn §6.1.1): refused, and the caller audits it. On success the
 * counter and last use are stored, and `amr` says how: `swk` for a synced (backup-eligible) passkey,
 * `hwk` for one bound to its device, with `user` (verified) and `mfa` (possession + verification).
 */
export async function verifyPasskey(deps: PasskeyDeps, answer: Identified, binding: string, expected: Expected): Promise<VerifyResult> {
  const pending = await takeChallenge(deps, answer.challenge, 'sign_in', binding);
  const { passkey, response } = answer;
  if (!pending) return { ok: false, reason: 'challenge', ...(passkey ? { passkey } : {}) };
  if (!passkey) return { ok: false, reason: 'unknown_credential' };
  const wanted = 'userId' in expected ? expected.userId : pending.userId;
  if (wanted !== null && passkey.userId !== wanted) return { ok: false, reason: 'unknown_credential' };
  const handle = response.response.userHandle;
  if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== passkey.userId) return { ok: false, reason: 'invalid', passkey };

  let verified;
  try {
    verified = await (await webauthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge: answer.challenge,
      expectedOrigin: deps.rp.origin,
      expectedRPID: deps.rp.id,
      // Counter 0 here: the library would throw on a rollback before we could tell it from a forgery;
      // the counter is compared below, once the signature is known to be the authenticator's.
      credential: { id: passkey.id, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: 0, transports: passkey.transports as never },
      requireUserVerification: true,
    });
  } catch {
    return { ok: false, reason: 'invalid', passkey };
  }
  if (!verified.verified) return { ok: false, reason: 'invalid', passkey };
  const info = verified.authenticationInfo;
  if ((info.newCounter > 0 || passkey.counter > 0) && info.newCounter <= passkey.counter) return { ok: false, reason: 'counter_rollback', passkey };

  // One conditional write: when another sign-in with this passkey recorded its use since the read
  // above, this one's counter no longer moves forward either.
  if (!(await deps.store.used(passkey.id, passkey.counter, info.newCounter, info.credentialBackedUp, deps.clock.now()))) {
    return { ok: false, reason: 'counter_rollback', passkey };
  }
  const kind = info.credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk';
  return { ok: true, passkey: { ...passkey, counter: info.newCounter, backedUp: info.credentialBackedUp }, amr: [kind, 'user', 'mfa'] };
}
