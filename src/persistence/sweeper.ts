import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../observability/logger.js';
import { sweepHorizonSeconds } from '../revocation/retention.js';

/** The stores that hold rows with an expiry. */
export interface Sweepable {
  oidcStore: { sweepExpired(): Promise<number> };
  rotations: { sweepExpired(now: Date): Promise<number> };
  oneTimeTokens: { sweepExpired(now: Date): Promise<number> };
  attempts: { sweep(before: number): Promise<number> };
  revocations: { sweep(before: Date): Promise<number> };
  passkeys?: { sweepExpired(now: Date): Promise<number> };
}

/**
 * Deletes expired codes, tokens, sessions, rotation records and dead throttle counters every
 * SWEEP_INTERVAL. Every instance sweeps; the deletes are idempotent, so instances never coordinate.
 */
export function startSweeper(deps: {
  stores: Sweepable;
  config: Pick<Config, 'sweepInterval' | 'guard' | 'accessTokenTtl' | 'clockSkew'>;
  clock: Clock;
  logger: Logger;
}) {
  const { stores, config, clock, logger } = deps;
  // Counters untouched for longer than any window, wait or lock they could hold are dead weight.
  const idleMs = Math.max(7 * 86400, config.guard.ipWindow, config.guard.ipBlock, config.guard.maxDelay, config.guard.maxLock) * 1000;
  const sweep = async () => {
    try {
      const now = clock.now();
      const [payloads, rotations, oneTimeTokens] = await Promise.all([
        stores.oidcStore.sweepExpired(),
        stores.rotations.sweepExpired(now),
        stores.oneTimeTokens.sweepExpired(now),
      ]);
      const challenges = (await stores.passkeys?.sweepExpired(now)) ?? 0;
      const counters = await stores.attempts.sweep(now.getTime() - idleMs);
      const revocations = await stores.revocations.sweep(new Date(now.getTime() - sweepHorizonSeconds(config.accessTokenTtl, config.clockSkew) * 1000));
      if (payloads + rotations + oneTimeTokens + counters + revocations + challenges > 0) {
        logger.debug({ payloads, rotations, oneTimeTokens, counters, revocations, challenges }, 'swept expired rows');
      }
    } catch (err) {
      logger.warn({ err }, 'sweep failed; will retry');
    }
  };
  const timer = setInterval(() => void sweep(), config.sweepInterval * 1000);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
