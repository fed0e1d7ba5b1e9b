import type { RefreshRotationStore } from '../oidc/refresh-rotation-store.js';
import type { Db } from './database.js';
import { isUniqueViolation } from './unique-violation.js';

/** The claim is an INSERT on the token's hash: the primary key lets exactly one request win. */
export function createPrismaRefreshRotationStore(db: Db): RefreshRotationStore {
  const rows = db.refreshRotation;
  const view = (row: { clientId: string; createdAt: Date; response: string | null }) => ({
    clientId: row.clientId,
    createdAt: row.createdAt,
    response: row.response,
  });
  const store: RefreshRotationStore = {
    async claim(tokenHash, clientId, now, expiresAt) {
      try {
        await rows.create({ data: { tokenHash, clientId, createdAt: now, expiresAt, response: null } });
        return 'won';
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const existing = await rows.findUnique({ where: { tokenHash } });
      // Released between our insert and read: claim again.
      return existing ? view(existing) : store.claim(tokenHash, clientId, now, expiresAt);
    },
    async get(tokenHash) {
      const row = await rows.findUnique({ where: { tokenHash } });
      return row ? view(row) : undefined;
    },
    async complete(tokenHash, response) {
      await rows.updateMany({ where: { tokenHash }, data: { response } });
    },
    async release(tokenHash) {
      await rows.deleteMany({ where: { tokenHash } });
    },
    async sweepExpired(now) {
      const { count } = await rows.deleteMany({ where: { expiresAt: { lte: now } } });
      return count;
    },
  };
  return store;
}
