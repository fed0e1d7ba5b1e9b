import type { Clock } from '../../src/lib/clock.ts';

/** A clock the test moves forward by hand (never sleep). */
export function steppableClock(start = Date.now()): Clock & { advance(seconds: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    advance(seconds) {
      now += seconds * 1000;
    },
  };
}
