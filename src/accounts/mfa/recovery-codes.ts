import { randomBytes } from 'node:crypto';
import { sha256 } from '../../lib/digest.js';

/**
 * Recovery codes: 10 per account, each 80 random bits written as 16 characters of Crockford's
 * base32 alphabet in groups of four (`k7pq-3mzx-…`). Random, so a plain SHA-256 is enough to make a
 * copy of the table useless (like one-time tokens); shown once, never stored in the clear.
 */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet, lower case: no i, l, o or u to confuse. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const CHARACTERS = 16;

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10); // 80 bits → 16 × 5 bits
    let bits = 0n;
    for (const b of bytes) bits = (bits << 8n) | BigInt(b);
    let text = '';
    for (let i = 0; i < CHARACTERS; i++) text = ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)] + text;
    return text.match(/.{4}/g)!.join('-');
  });
}

/** What people type: any case, with or without the dashes and spaces. Undefined when it cannot be one. */
export function normalizeRecoveryCode(typed: string): string | undefined {
  const compact = typed.toLowerCase().replace(/[\s-]/g, '');
  if (compact.length !== CHARACTERS || [...compact].some((c) => !ALPHABET.includes(c))) return undefined;
  return compact;
}

export const hashRecoveryCode = (normalized: string): string => sha256(`recovery-code:${normalized}`);
