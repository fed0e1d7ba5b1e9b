import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './digest.js';

/**
 * CSRF tokens bound to one interaction (or any other key): HMAC of the key with the first secret;
 * accepted when any secret produces it (secret rotation keeps open forms working).
 */
export function csrfToken(secrets: readonly string[], key: string): string {
  return createHmac('sha256', secrets[0]!).update(`csrf:${key}`).digest('base64url');
}

export function verifyCsrfToken(secrets: readonly string[], key: string, token: unknown): boolean {
  if (typeof token !== 'string' || token.length === 0 || token.length > 100) return false;
  return secrets.some((secret) => constantTimeEqual(createHmac('sha256', secret).update(`csrf:${key}`).digest('base64url'), token));
}
