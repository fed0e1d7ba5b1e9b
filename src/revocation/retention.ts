import type { ResourceRepository } from '../clients/records.js';
import type { Clock } from '../lib/clock.js';

/** Milliseconds the longest lifetime is reused: an API's new TTL counts within this. */
const REUSE_MS = 5000;

/**
 * How long a revocation must stay in the feed: the longest access-token lifetime (ACCESS_TOKEN_TTL or
 * any API's own) plus the clock skew tolerated. After that every token it could void has expired.
 */
export function feedRetention(deps: {
  accessTokenTtl: number;
  clockSkew: number;
  resources: Pick<ResourceRepository, 'list'>;
  clock: Clock;
}): () => Promise<number> {
  let cached: { at: number; value: Promise<number> } | undefined;
  const load = async () => {
    const apiTtls = (await deps.resources.list()).map((r) => r.accessTokenTtl ?? 0);
    return Math.max(deps.accessTokenTtl, ...apiTtls) + deps.clockSkew;
  };
  return () => {
    const at = deps.clock.now().getTime();
    if (cached && at - cached.at < REUSE_MS && at >= cached.at) return cached.value;
    const value = load();
    cached = { at, value };
    value.catch(() => {
      if (cached?.value === value) cached = undefined;
    });
    return value;
  };
}

/** Entries older than this can void nothing whatever the settings (an API's TTL is at most a day). */
export function sweepHorizonSeconds(accessTokenTtl: number, clockSkew: number): number {
  return Math.max(accessTokenTtl, 86400) + clockSkew;
}
