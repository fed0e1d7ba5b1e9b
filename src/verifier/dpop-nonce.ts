import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Server-issued DPoP nonces at a resource server (RFC 9449 §9), stateless: a nonce is the second it
 * was issued (8 bytes) and an HMAC-SHA-256 of it (truncated to 16 bytes) under the verifier's
 * secret, base64url (32 characters, within the NQCHAR set of §8.1). It is accepted while it is
 * younger than `lifetime` seconds, by any process holding the same secret, and nothing is stored.
 * The replay cache still refuses a proof used twice; the nonce bounds how far ahead a client (or an
 * attacker holding its key) can make proofs, which the `iat` window alone does not.
 */
export interface DpopNonces {
  /** A fresh nonce, for the `DPoP-Nonce` header. */
  issue(): string;
  /** Whether `value` is a nonce these settings issued within the lifetime. */
  valid(value: unknown): boolean;
}

const CONTEXT = 'gatehouse dpop nonce v1\u0000';

export function createDpopNonces(o: {
  secret: Uint8Array;
  /** Seconds a nonce is accepted after it was issued. */
  lifetime: number;
  /** Seconds of clock difference tolerated between processes sharing the secret. */
  clockTolerance: number;
  /** Milliseconds since the epoch. */
  now: () => number;
}): DpopNonces {
  const mac = (stamp: Buffer) => createHmac('sha256', o.secret).update(CONTEXT).update(stamp).digest().subarray(0, 16);
  return {
    issue() {
      const stamp = Buffer.alloc(8);
      stamp.writeBigUInt64BE(BigInt(Math.floor(o.now() / 1000)));
      return Buffer.concat([stamp, mac(stamp)]).toString('base64url');
    },
    valid(value) {
      if (typeof value !== 'string' || value.length !== 32) return false;
      const raw = Buffer.from(value, 'base64url');
      if (raw.length !== 24 || raw.toString('base64url') !== value) return false;
      const stamp = raw.subarray(0, 8);
      if (!timingSafeEqual(raw.subarray(8), mac(stamp))) return false;
      const issuedAt = Number(stamp.readBigUInt64BE());
      const now = o.now() / 1000;
      return issuedAt <= now + o.clockTolerance && now - issuedAt <= o.lifetime + o.clockTolerance;
    },
  };
}
