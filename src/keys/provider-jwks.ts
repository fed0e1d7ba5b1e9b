import type { JWK } from 'jose';
import type { Keyring } from './keyring-files.js';
import { keyState, signingKey, SIGNING_ALGS } from './schedule.js';

/**
 * The private key set handed to the protocol engine: per algorithm the signing key first, then every
 * other published key (next and retired) marked `key_ops: ["verify"]`, which the engine publishes in
 * the JWKS but never signs with. Removed keys are left out.
 */
export function providerJwks(keyring: Keyring, now: Date): { keys: JWK[] } {
  const signing = new Set(SIGNING_ALGS.map((alg) => signingKey(keyring.manifest.keys, alg, now)?.kid).filter(Boolean));
  const published = keyring.manifest.keys.filter((e) => keyState(e, now) !== 'removed');
  const first = published.filter((e) => signing.has(e.kid));
  const rest = published.filter((e) => !signing.has(e.kid));
  return {
    keys: [
      ...first.map((e) => ({ ...keyring.keys.get(e.kid)! })),
      ...rest.map((e) => ({ ...keyring.keys.get(e.kid)!, key_ops: ['verify'] })),
    ],
  };
}
