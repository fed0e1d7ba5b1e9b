import { badRequest } from '../errors.js';

/**
 * Emails are trimmed and lower-cased for uniqueness (DESIGN.md). The check is deliberately simple:
 * one @, a dotted domain, no spaces or control characters, nothing that could inject a mail header.
 */
const EMAIL = /^[^\s@\x00-\x1f\x7f<>(),;:"[\]\\]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

export function normalizeEmail(raw: unknown): string {
  if (typeof raw !== 'string') throw badRequest('email: must be a string');
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) throw badRequest('email: is not a valid email address');
  return email;
}

/** NIST SP 800-63B: passwords are compared after Unicode NFKC normalisation, never truncated. */
export function normalizePassword(raw: string): string {
  return raw.normalize('NFKC');
}
