import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 as base64url: how we store values that must be looked up but never read back. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Constant-time comparison of two strings (different lengths compare unequal, still in constant time
 * with respect to the content). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}
