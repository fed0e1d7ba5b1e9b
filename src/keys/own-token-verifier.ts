import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Keyring } from './keyring-files.js';
import { keyState } from './schedule.js';

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'];

/**
 * Verifies access tokens Gatehouse issued to itself (the admin API's audience) against the keyring
 * in use, without a network round trip: signature by a published key, issuer, audience, typ at+jwt,
 * expiry, and — read from disk on each call (key-state-probe.ts) — the signing key not revoked since
 * this instance last reloaded. Scope and client checks are the caller's.
 */
export function createOwnTokenVerifier(issuer: string, keyring: () => Keyring, now: () => Date, keyUsable: (kid: string | undefined) => Promise<boolean>) {
  let cached: { ring: Keyring; set: ReturnType<typeof createLocalJWKSet> } | undefined;
  const keySet = () => {
    const ring = keyring();
    if (cached?.ring !== ring) {
      const keys = ring.manifest.keys
        .filter((e) => keyState(e, now()) !== 'removed')
        .map((e) => Object.fromEntries(Object.entries(ring.keys.get(e.kid)!).filter(([k]) => PUBLIC_MEMBERS.includes(k))) as JWK);
      cached = { ring, set: createLocalJWKSet({ keys }) };
    }
    return cached.set;
  };
  return async (token: string, audience: string): Promise<JWTPayload> => {
    const { payload, protectedHeader } = await jwtVerify(token, keySet(), { issuer, audience, typ: 'at+jwt', algorithms: ['ES256'], currentDate: now() });
    if (!(await keyUsable(protectedHeader.kid))) throw new Error('the signing key has been revoked');
    return payload;
  };
}
