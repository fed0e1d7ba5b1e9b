import type { Clock } from '../../src/lib/clock.ts';

/** A clock that stands still until a test moves it. */
export function steppingClock(start = new Date('2026-01-15T10:00:00.000Z')): Clock & { advance(seconds: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(seconds) {
      now += seconds * 1000;
    },
  };
}
