import type { Clock } from '../../src/lib/clock.ts';

/**
 * The one fixed starting instant for tests (every steppable clock that does not need wall time
 * starts here), so dates in assertions do not depend on the day the tests run.
 */
export const FIXED_START = new Date('2026-01-15T10:00:00.000Z');

/**
 * A clock that stands still until the test moves it forward by hand (never sleep). It starts where it
 * is told to: FIXED_START, or — only where a real library or another process measures wall time too
 * (oidc-provider's own timestamps, a CLI process, keys seeded at wall time) — `systemClock.now()`.
 */
export function steppableClock(start: Date | number): Clock & { advance(seconds: number): void } {
  let now = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => new Date(now),
    advance(seconds) {
      now += seconds * 1000;
    },
  };
}
