import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { SigningAlg } from './schedule.js';

export type PrivateJwk = JWK & { kid: string; alg: SigningAlg; use: 'sig'; d: string };

/**
 * A new signing key. EC P-256 for ES256 (access tokens); RSA 3072 for RS256 (ID tokens — OIDC requires
 * RS256 support; docs/security.md prefers 3072 bits). The kid is the key's RFC 7638 thumbprint, so a kid can
 * never be reused for different key material.
 */
export async function generateSigningKey(alg: SigningAlg): Promise<PrivateJwk> {
  for (;;) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 3072 } : {}) });
    const jwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    // One thumbprint in 64 starts with '-', which a command line reads as an option
    // (`gatehouse keys revoke -AbC…` failed): such a key is thrown away and another made.
    if (!kid.startsWith('-')) return { ...jwk, kid, alg, use: 'sig' } as PrivateJwk;
  }
}
