import type { MfaStore } from '../accounts/mfa/mfa-store.js';
import type { Db } from './database.js';
import { isUniqueViolation } from './unique-violation.js';

/** Second factors in `totp_factors` and `recovery_codes`, SQLite or PostgreSQL. Every use is one
 * conditional UPDATE whose row count decides, so of two racing requests with one code exactly one wins. */
export function createPrismaMfaStore(db: Db): MfaStore {
  return {
    async findTotp(userId) {
      return (await db.totpFactor.findUnique({ where: { userId } })) ?? undefined;
    },
    async startTotp({ userId, secret, createdAt }) {
      // Only an unconfirmed row may be replaced; a confirmed factor is removed by "disable" first.
      await db.totpFactor.deleteMany({ where: { userId, confirmedAt: null } });
      try {
        await db.totpFactor.create({ data: { userId, secret, createdAt, confirmedAt: null, lastStep: 0, lastUsedAt: null } });
        return true;
      } catch (err) {
        // The row is still there: it was confirmed (or another enrolment started at the same moment).
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async confirmTotp(userId, step, now) {
      const { count } = await db.totpFactor.updateMany({ where: { userId, confirmedAt: null }, data: { confirmedAt: now, lastStep: step, lastUsedAt: now } });
      return count === 1;
    },
    async acceptStep(userId, step, now) {
      const { count } = await db.totpFactor.updateMany({ where: { userId, confirmedAt: { not: null }, lastStep: { lt: step } }, data: { lastStep: step, lastUsedAt: now } });
      return count === 1;
    },
    async resealTotp(userId, previous, next) {
      await db.totpFactor.updateMany({ where: { userId, secret: previous }, data: { secret: next } });
    },
    async deleteTotp(userId) {
      const { count } = await db.totpFactor.deleteMany({ where: { userId } });
      return count > 0;
    },
    async replaceRecoveryCodes(userId, hashes, now) {
      await db.recoveryCode.deleteMany({ where: { userId } });
      await db.recoveryCode.createMany({ data: hashes.map((hash) => ({ hash, userId, createdAt: now, usedAt: null })) });
    },
    async useRecoveryCode(userId, hash, now) {
      const { count } = await db.recoveryCode.updateMany({ where: { hash, userId, usedAt: null }, data: { usedAt: now } });
      return count === 1;
    },
    async unusedRecoveryCodes(userId) {
      return db.recoveryCode.count({ where: { userId, usedAt: null } });
    },
    async deleteRecoveryCodes(userId) {
      const { count } = await db.recoveryCode.deleteMany({ where: { userId } });
      return count;
    },
  };
}
