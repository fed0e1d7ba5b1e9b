import { join } from 'node:path';
import { KeyringError, MANIFEST, type Keyring } from './keyring-files.js';
import { SIGNING_ALGS, signingKey } from './schedule.js';

/**
 * A keyring the server can run on: a signing key for every algorithm at `now` (ES256 access tokens,
 * RS256 ID tokens). A well-formed manifest that lists no such key — empty, or every key revoked —
 * would leave the engine with nothing to sign with and an empty JWKS, so it is refused like a broken
 * one: at start the server does not come up; at runtime the last good key set stays in use.
 */
export function assertUsableKeyring(dir: string, keyring: Keyring, now: Date): void {
  const missing = SIGNING_ALGS.filter((alg) => !signingKey(keyring.manifest.keys, alg, now));
  if (missing.length > 0) {
    throw new KeyringError(
      join(dir, MANIFEST),
      `no active signing key for ${missing.join(', ')}; the server needs one of each (gatehouse keys rotate --now adds them)`,
    );
  }
}
