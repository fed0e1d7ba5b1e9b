import type { Clock } from '../lib/clock.js';
import { ipInCidr } from './ip.js';

export interface IpBan {
  cidr: string;
  reason: string | null;
  createdAt: Date;
  expiresAt: Date | null;
}

export interface IpBanRepository {
  /** Replaces an existing ban of the same range. */
  put(ban: IpBan): Promise<void>;
  delete(cidr: string): Promise<boolean>;
  /** Bans not yet expired at `now`. */
  active(now: Date): Promise<IpBan[]>;
}

/** The ban covering `ip` right now, if any. */
export async function findIpBan(bans: IpBanRepository, clock: Clock, ip: string): Promise<IpBan | undefined> {
  return (await bans.active(clock.now())).find((b) => ipInCidr(ip, b.cidr));
}

export function createMemoryIpBanRepository(): IpBanRepository {
  const rows = new Map<string, IpBan>();
  return {
    async put(ban) {
      rows.set(ban.cidr, ban);
    },
    async delete(cidr) {
      return rows.delete(cidr);
    },
    async active(now) {
      return [...rows.values()].filter((b) => !b.expiresAt || b.expiresAt > now);
    },
  };
}

/**
 * The ban list read on every guarded request, re-read from the database at most every `ttlMs` by
 * `clock`: a new ban reaches every instance within that time without a query per token request.
 */
export function cachedIpBans(repo: IpBanRepository, ttlMs: number, clock: Clock): IpBanRepository {
  let cached: { at: number; bans: Promise<IpBan[]> } | undefined;
  return {
    put: async (ban) => {
      cached = undefined;
      await repo.put(ban);
    },
    delete: async (cidr) => {
      cached = undefined;
      return repo.delete(cidr);
    },
    async active(now) {
      const t = clock.now().getTime();
      if (!cached || t - cached.at > ttlMs) {
        const bans = repo.active(now);
        cached = { at: t, bans };
        bans.catch(() => {
          cached = undefined;
        });
      }
      return (await cached.bans).filter((b) => !b.expiresAt || b.expiresAt > now);
    },
  };
}
