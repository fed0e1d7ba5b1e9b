import type { IpBan, IpBanRepository } from '../guard/bans.js';
import type { AttemptStore } from '../guard/counter.js';
import type { Db } from './database.js';
import { execute, select } from './raw-sql.js';

/** Counters as rows; the compare-and-set is one conditional UPDATE (or an INSERT for a new key)
 * whose row count decides. Every sign-in reads and writes several of them (the address, the account,
 * the account on this address): hand-written SQL (raw-sql.ts). */
export function createPrismaAttemptStore(db: Db): AttemptStore {
  type Row = { count: number; window_start: number; next_allowed_at: number; locked_until: number; level: number; version: number };
  return {
    async get(key) {
      const [row] = await select<Row>(db, 'SELECT count, window_start, next_allowed_at, locked_until, level, version FROM attempt_counters WHERE "key" = $1', key);
      return row
        ? { count: Number(row.count), windowStart: Number(row.window_start), nextAllowedAt: Number(row.next_allowed_at), lockedUntil: Number(row.locked_until), level: Number(row.level), version: Number(row.version) }
        : undefined;
    },
    async compareAndSet(key, expectedVersion, next, now) {
      const values = [next.count, next.windowStart, next.nextAllowedAt, next.lockedUntil, next.level, now] as const;
      if (expectedVersion === 0) {
        // ON CONFLICT DO NOTHING rather than a refused INSERT: on PostgreSQL a refused statement would
        // abort the transaction around it.
        const inserted = await execute(
          db,
          'INSERT INTO attempt_counters ("key", count, window_start, next_allowed_at, locked_until, level, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, 1) ON CONFLICT ("key") DO NOTHING',
          key,
          ...values,
        );
        return inserted === 1;
      }
      const updated = await execute(
        db,
        'UPDATE attempt_counters SET count = $1, window_start = $2, next_allowed_at = $3, locked_until = $4, level = $5, updated_at = $6, version = $7 WHERE "key" = $8 AND version = $9',
        ...values,
        expectedVersion + 1,
        key,
        expectedVersion,
      );
      return updated === 1;
    },
    async delete(key) {
      await execute(db, 'DELETE FROM attempt_counters WHERE "key" = $1', key);
    },
    async sweep(before) {
      const { count } = await db.attemptCounter.deleteMany({ where: { updatedAt: { lt: before } } });
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
