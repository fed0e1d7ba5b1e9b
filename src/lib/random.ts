import { randomBytes } from 'node:crypto';

/** `bytes` of CSPRNG output as base64url (32 bytes = 256 bits, 43 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

let lastMs = 0;
let sequence = 0;

/**
 * An id that sorts (as a string) in creation order within this process: 12 hex digits of the
 * milliseconds `now` (the caller's clock, see lib/clock.ts), 6 of a per-millisecond sequence, then
 * 64 random bits so ids from different processes never collide. Rows written in the same
 * millisecond keep their order, and so do rows stamped with a clock that went back.
 */
export function orderedId(now: number): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else {
    sequence++;
  }
  return `${lastMs.toString(16).padStart(12, '0')}${sequence.toString(16).padStart(6, '0')}-${randomBytes(8).toString('hex')}`;
}
