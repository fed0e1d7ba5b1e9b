import { randomBytes } from 'node:crypto';

/** `bytes` of CSPRNG output as base64url (32 bytes = 256 bits, 43 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
