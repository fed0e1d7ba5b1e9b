import { sha256 } from '../../lib/digest.js';
import type { PasskeyDeps } from './passkey-deps.js';
import { CHALLENGE_TTL_SECONDS } from './passkey-deps.js';
import type { ChallengePurpose } from './passkey-store.js';

/**
 * Challenges live server-side, hashed, bound to what asked for them (the sign-in interaction, whose
 * cookie only this browser holds, or the account page's session), for CHALLENGE_TTL_SECONDS, and are
 * consumed by whichever answer arrives first: a replayed or raced answer finds nothing.
 */
export async function rememberChallenge(deps: PasskeyDeps, challenge: string, purpose: ChallengePurpose, binding: string, userId: string | null): Promise<void> {
  const expiresAt = new Date(deps.clock.now().getTime() + CHALLENGE_TTL_SECONDS * 1000);
  await deps.store.saveChallenge({ hash: sha256(challenge), purpose, binding: sha256(binding), userId, expiresAt });
}

export async function takeChallenge(deps: PasskeyDeps, challenge: string, purpose: ChallengePurpose, binding: string) {
  return deps.store.consumeChallenge(sha256(challenge), purpose, sha256(binding), deps.clock.now());
}

/**
 * The challenge a browser's answer claims to answer, read from its clientDataJSON (base64url JSON,
 * WebAuthn §5.8.1). Only used to find the pending challenge; the library then checks it again along
 * with the signature, origin and type.
 */
export function claimedChallenge(clientDataJSON: string): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && data.challenge.length > 0 && data.challenge.length <= 200 ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}
