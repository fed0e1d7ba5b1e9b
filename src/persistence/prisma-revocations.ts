import type { RevocationEntry, RevocationKind, RevocationStore } from '../revocation/revocation-store.js';
import type { DbTransaction } from './database.js';
import { isUniqueViolation } from './unique-violation.js';

/**
 * The revocation feed's entries in the `revocations` table, on SQLite or PostgreSQL: the feed every
 * instance serves is read from here, so a revocation written by one instance (or the CLI) is in every
 * instance's feed at its next read. Given a transaction's client, `record` commits with the
 * revocation it describes (the grant or account rows deleted in the same transaction).
 */
export function createPrismaRevocationStore(db: Pick<DbTransaction, 'revocation'>): RevocationStore {
  const rows = db.revocation;
  return {
    async record(entry) {
      const data = { notBefore: entry.kind === 'subject' ? entry.notBefore : null, createdAt: entry.createdAt };
      const key = { kind: entry.kind, ref: entry.ref };
      try {
        await rows.upsert({ where: { kind_ref: key }, create: { ...key, ...data }, update: data });
      } catch (err) {
        // Two first revocations of one thing at once: the other inserted it; this one renews it.
        if (!isUniqueViolation(err)) throw err;
        await rows.updateMany({ where: key, data });
      }
    },

    async listSince(since) {
      const found = await rows.findMany({ where: { createdAt: { gt: since } }, orderBy: [{ kind: 'asc' }, { ref: 'asc' }] });
      return found.map((r): RevocationEntry =>
        r.kind === 'subject'
          ? { kind: 'subject', ref: r.ref, notBefore: r.notBefore ?? r.createdAt, createdAt: r.createdAt }
          : { kind: r.kind as Exclude<RevocationKind, 'subject'>, ref: r.ref, createdAt: r.createdAt },
      );
    },

    async sweep(before) {
      const { count } = await rows.deleteMany({ where: { createdAt: { lt: before } } });
      return count;
    },
  };
}
