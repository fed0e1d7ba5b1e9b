import { classifyOneTimeToken, type OneTimeTokenPurpose, type OneTimeTokenState, type OneTimeTokenStore } from '../accounts/one-time-tokens.js';
import type { Db } from './database.js';

/** One-time tokens in the `one_time_tokens` table (only their SHA-256 is stored), SQLite or PostgreSQL. */
export function createPrismaOneTimeTokenStore(db: Db): OneTimeTokenStore {
  const rows = db.oneTimeToken;

  const state = async (hash: string, purpose: OneTimeTokenPurpose, now: Date): Promise<OneTimeTokenState> =>
    classifyOneTimeToken(await rows.findUnique({ where: { hash } }), purpose, now);

  return {
    async insert(record) {
      await rows.create({ data: { ...record, data: record.data ?? null, consumedAt: null } });
    },

    peek: state,

    async consume(hash, purpose, now) {
      // One conditional UPDATE; its row count decides, so two concurrent uses have one winner.
      const { count } = await rows.updateMany({
        where: { hash, purpose, consumedAt: null, expiresAt: { gt: now } },
        data: { consumedAt: now },
      });
      if (count === 1) {
        const row = await rows.findUnique({ where: { hash }, select: { userId: true, data: true } });
        if (row) return { status: 'valid', userId: row.userId, data: row.data };
      }
      const lost = await state(hash, purpose, now);
      // Consumed by someone else between our UPDATE and the read: it is used, not valid.
      return lost.status === 'valid' ? { status: 'used' } : lost;
    },

    async revokeUnused(userId, purpose) {
      const { count } = await rows.deleteMany({ where: { userId, purpose, consumedAt: null } });
      return count;
    },

    async sweepExpired(now) {
      const { count } = await rows.deleteMany({ where: { expiresAt: { lte: now } } });
      return count;
    },
  };
}
