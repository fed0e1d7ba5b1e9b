import type { Clock } from '../../src/lib/clock.ts';

/** A clock that stands still until the test moves it forward by hand (never sleep). */
export function steppableClock(start: Date | number = Date.now()): Clock & { advance(seconds: number): void } {
  let now = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => new Date(now),
    advance(seconds) {
      now += seconds * 1000;
    },
  };
}

/** A fixed, well-known starting point for unit tests whose dates appear in assertions. */
export const FIXED_START = new Date('2026-01-15T10:00:00.000Z');
