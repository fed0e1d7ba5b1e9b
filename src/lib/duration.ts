const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/**
 * Parses a duration given as whole seconds (`"600"`) or with a unit (`"15m"`, `"1h"`, `"14d"`, `"30s"`).
 * Returns whole seconds, or `undefined` when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d{1,9})\s*([smhd]?)\s*$/.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match;
  const seconds = Number(amount) * (unit ? UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS] : 1);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** Formats seconds the way an operator would write them (`900` → `15m`). */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
