/**
 * The per-IP blocks this process has seen, until they end. A window block (policy.ts `admitWindow`)
 * ends only with time: nothing clears an IP key's `lockedUntil` early (a refund lowers the count and
 * keeps it, and the sweeper only drops counters idle for longer than any block). So while a block
 * this process read or started is running, the database would give the same answer: the refusal is
 * decided here, without a query. A flood of refused requests then costs no database work at all.
 *
 * Bounded: beyond `max` keys the ended blocks go first, then the oldest (forgetting one only means
 * that IP's next request reads its counter again).
 */
export interface KnownBlocks {
  /** When the block on `key` ends (epoch ms), if one is known to run at `now`. */
  until(key: string, now: number): number | undefined;
  remember(key: string, until: number, now: number): void;
}

export function createKnownBlocks(max = 10_000): KnownBlocks {
  const blocks = new Map<string, number>();
  return {
    until(key, now) {
      const until = blocks.get(key);
      if (until === undefined) return undefined;
      if (until > now) return until;
      blocks.delete(key);
      return undefined;
    },
    remember(key, until, now) {
      blocks.delete(key); // re-inserted last: the newest block is the last one forgotten
      blocks.set(key, until);
      if (blocks.size <= max) return;
      for (const [k, u] of blocks) if (u <= now) blocks.delete(k);
      for (const k of blocks.keys()) {
        if (blocks.size <= max) break;
        blocks.delete(k);
      }
    },
  };
}
