import type { IpBan, IpBanRepository } from '../guard/bans.js';
import type { AttemptStore } from '../guard/counter.js';
import type { Db } from './database.js';
import { isUniqueViolation } from './unique-violation.js';

/** Counters as rows; the compare-and-set is one conditional UPDATE (or an INSERT for a new key)
 * whose row count decides. */
export function createPrismaAttemptStore(db: Db): AttemptStore {
  const rows = db.attemptCounter;
  return {
    async get(key) {
      const row = await rows.findUnique({ where: { key } });
      return row ? { count: row.count, windowStart: row.windowStart, nextAllowedAt: row.nextAllowedAt, lockedUntil: row.lockedUntil, level: row.level, version: row.version } : undefined;
    },
    async compareAndSet(key, expectedVersion, next, now) {
      const data = { count: next.count, windowStart: next.windowStart, nextAllowedAt: next.nextAllowedAt, lockedUntil: next.lockedUntil, level: next.level, updatedAt: now };
      if (expectedVersion === 0) {
        try {
          await rows.create({ data: { key, ...data, version: 1 } });
          return true;
        } catch (err) {
          if (isUniqueViolation(err)) return false;
          throw err;
        }
      }
      const { count } = await rows.updateMany({ where: { key, version: expectedVersion }, data: { ...data, version: expectedVersion + 1 } });
      return count === 1;
    },
    async delete(key) {
      await rows.deleteMany({ where: { key } });
    },
    async sweep(before) {
      const { count } = await rows.deleteMany({ where: { updatedAt: { lt: before } } });
      return count;
    },
  };
}

export function createPrismaIpBanRepository(db: Db): IpBanRepository {
  const toBan = (r: { cidr: string; reason: string | null; createdAt: Date; expiresAt: Date | null }): IpBan => ({ ...r });
  return {
    async put(ban) {
      await db.ipBan.upsert({ where: { cidr: ban.cidr }, create: ban, update: { reason: ban.reason, createdAt: ban.createdAt, expiresAt: ban.expiresAt } });
    },
    async delete(cidr) {
      const { count } = await db.ipBan.deleteMany({ where: { cidr } });
      return count > 0;
    },
    async active(now) {
      return (await db.ipBan.findMany({ where: { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] }, orderBy: { createdAt: 'asc' } })).map(toBan);
    },
  };
}
