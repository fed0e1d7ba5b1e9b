import type { GuardSettings } from '../config/schema.js';
import type { Counter, Decision } from './counter.js';

/**
 * The pure throttle decisions (docs/architecture.md, Brute-force defense), one per layer. Each takes the current counter and
 * "now" and returns whether this attempt may proceed and the counter to write. Attempts are counted
 * when admitted (a reservation), so simultaneous attempts cannot slip past a limit; a success resets
 * or refunds afterwards.
 */

/** Layer 1, one account from one IP or one device: the first attempts are free, then each further
 * attempt waits twice as long as the previous one, up to a cap. */
export function admitConsecutive(c: Counter, now: number, s: GuardSettings): Decision {
  if (now < c.nextAllowedAt) return { admit: false, retryAt: c.nextAllowedAt };
  const count = c.count + 1;
  const over = count - s.freeAttempts;
  const wait = over >= 0 ? Math.min(s.maxDelay, s.baseDelay * 2 ** over) * 1000 : 0;
  return { admit: true, next: { ...c, count, nextAllowedAt: wait > 0 ? now + wait : 0 } };
}

/** Layer 2, one IP across accounts (or one IP's signups / reset requests): at most `limit` in the
 * window; going over blocks the IP for `block` seconds. */
export function admitWindow(c: Counter, now: number, limit: number, windowSeconds: number, blockSeconds: number): Decision {
  if (now < c.lockedUntil) return { admit: false, retryAt: c.lockedUntil };
  const fresh = now - c.windowStart >= windowSeconds * 1000;
  const count = fresh ? 0 : c.count;
  const windowStart = fresh ? now : c.windowStart;
  if (count >= limit) {
    const until = now + blockSeconds * 1000;
    return { admit: false, retryAt: until, next: { ...c, count: 0, windowStart: now, lockedUntil: until, level: c.level + 1 } };
  }
  return { admit: true, next: { ...c, count: count + 1, windowStart, lockedUntil: 0 } };
}

/** Layer 3, one account from anywhere: every `lockAfter` consecutive failures lock it, each lock
 * twice as long as the last, capped. `count` keeps running until a success or a password reset. */
export function admitAccount(c: Counter, now: number, s: GuardSettings): Decision {
  if (now < c.lockedUntil) return { admit: false, retryAt: c.lockedUntil };
  const count = c.count + 1;
  if (count % s.lockAfter === 0) {
    const lock = Math.min(s.maxLock, s.lockFor * 2 ** c.level) * 1000;
    return { admit: true, next: { ...c, count, lockedUntil: now + lock, level: c.level + 1 } };
  }
  return { admit: true, next: { ...c, count } };
}

/** Undoes one reserved attempt (a success, or an attempt refused by a later layer). */
export function refund(c: Counter): Decision {
  return { admit: true, next: { ...c, count: Math.max(0, c.count - 1) } };
}

/** A success (or an unlock by an operator) clears the layer. */
export function clear(c: Counter): Decision {
  return { admit: true, next: { ...c, count: 0, nextAllowedAt: 0, lockedUntil: 0, level: 0 } };
}
