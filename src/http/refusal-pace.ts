/**
 * Holding a refusal back before sending it. A flood of sign-in posts that the hashing queue refuses
 * (503) comes back as fast as it is answered: a client on a keep-alive connection sends its next
 * attempt the moment it reads the refusal, and the event loop spends itself answering refusals while
 * token, JWKS and health requests wait behind them. Holding each refusal for a while (a timer, no
 * work) slows every such connection to one attempt per hold, and the refusal says no more than it
 * would have at once: it still carries Retry-After, which is longer than the hold.
 *
 * At most `maxHeld` refusals are held at a time (each holds a connection and a timer); beyond that
 * they are answered at once, as before.
 */
export interface RefusalPace {
  /** Resolves after the hold, or at once when `maxHeld` refusals are already held. */
  hold(): Promise<void>;
  /** Refusals being held now. */
  held(): number;
}

export const REFUSAL_HOLD_MS = 1_000;
export const MAX_HELD_REFUSALS = 1_024;

export function createRefusalPace(
  options: { holdMs?: number; maxHeld?: number; sleep?: (ms: number) => Promise<void> } = {},
): RefusalPace {
  const holdMs = options.holdMs ?? REFUSAL_HOLD_MS;
  const maxHeld = options.maxHeld ?? MAX_HELD_REFUSALS;
  // Unref'd: a held refusal never keeps a stopping process alive.
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  let held = 0;
  return {
    async hold() {
      if (held >= maxHeld || holdMs <= 0) return;
      held += 1;
      try {
        await sleep(holdMs);
      } finally {
        held -= 1;
      }
    },
    held: () => held,
  };
}
