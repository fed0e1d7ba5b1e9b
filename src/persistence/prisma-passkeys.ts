import type { Passkey, PasskeyStore } from '../accounts/passkeys/passkey-store.js';
import type { Db } from './database.js';
import type { Passkey as PasskeyRow } from './generated/sqlite/client.js';
import { MAX_PENDING_CHALLENGES } from '../accounts/passkeys/passkey-store.js';
import { execute } from './raw-sql.js';
import { isUniqueViolation } from './unique-violation.js';

const toPasskey = (row: PasskeyRow): Passkey => ({
  ...row,
  transports: parseTransports(row.transports),
  deviceType: row.deviceType === 'multiDevice' ? 'multiDevice' : 'singleDevice',
});

function parseTransports(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** Passkeys and their pending challenges in `passkeys` / `passkey_challenges`, SQLite or PostgreSQL. */
export function createPrismaPasskeyStore(db: Db): PasskeyStore {
  return {
    async insert(passkey) {
      try {
        await db.passkey.create({ data: { ...passkey, transports: JSON.stringify(passkey.transports) } });
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async find(id) {
      const row = await db.passkey.findUnique({ where: { id } });
      return row ? toPasskey(row) : undefined;
    },
    async listByUser(userId) {
      return (await db.passkey.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } })).map(toPasskey);
    },
    async used(id, previous, counter, backedUp, at) {
      const { count } = await db.passkey.updateMany({ where: { id, counter: previous }, data: { counter, backedUp, lastUsedAt: at } });
      return count === 1;
    },
    async rename(userId, id, name) {
      return (await db.passkey.updateMany({ where: { id, userId }, data: { name } })).count === 1;
    },
    async remove(userId, id) {
      return (await db.passkey.deleteMany({ where: { id, userId } })).count === 1;
    },
    async removeAll(userId) {
      return (await db.passkey.deleteMany({ where: { userId } })).count;
    },
    async saveChallenge(challenge) {
      await db.passkeyChallenge.create({ data: challenge });
      // The newest few for this binding and purpose stay; older ones go (by the binding's index).
      await execute(
        db,
        `DELETE FROM passkey_challenges WHERE binding = $1 AND purpose = $2 AND hash NOT IN (
           SELECT hash FROM passkey_challenges WHERE binding = $1 AND purpose = $2 ORDER BY expires_at DESC, hash LIMIT ${MAX_PENDING_CHALLENGES})`,
        challenge.binding,
        challenge.purpose,
      );
    },
    async consumeChallenge(hash, purpose, binding, now) {
      const row = await db.passkeyChallenge.findUnique({ where: { hash } });
      if (!row || row.purpose !== purpose || row.binding !== binding || row.expiresAt <= now) return undefined;
      // The delete's row count decides: of two racing answers, one deletes the row, the other none.
      const { count } = await db.passkeyChallenge.deleteMany({ where: { hash, purpose, binding } });
      return count === 1 ? { ...row, purpose: row.purpose as 'register' | 'sign_in' } : undefined;
    },
    async sweepExpired(now) {
      return (await db.passkeyChallenge.deleteMany({ where: { expiresAt: { lte: now } } })).count;
    },
  };
}
