/**
 * Where second factors live: one authenticator app (TOTP) per account and its recovery codes. The
 * secret is stored sealed (the caller seals and opens it, see totp-secret.ts); recovery codes only as
 * SHA-256. Every "use" is one conditional write, so two racing requests have exactly one winner.
 */
export interface TotpFactorRecord {
  userId: string;
  /** Sealed secret (lib/seal.ts). */
  secret: string;
  confirmedAt: Date | null;
  /** Last accepted time step; it and every earlier one are refused (RFC 6238 §5.2: no reuse). */
  lastStep: number;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface MfaStore {
  findTotp(userId: string): Promise<TotpFactorRecord | undefined>;
  /** A new, unconfirmed secret: replaces an unconfirmed one; false when a confirmed factor exists. */
  startTotp(record: Pick<TotpFactorRecord, 'userId' | 'secret' | 'createdAt'>): Promise<boolean>;
  /** Confirms a pending factor with the step of the code that proved it; false if not pending any more. */
  confirmTotp(userId: string, step: number, now: Date): Promise<boolean>;
  /** Accepts `step` for a confirmed factor when it is later than the last accepted one (atomic). */
  acceptStep(userId: string, step: number, now: Date): Promise<boolean>;
  /** Re-seals the secret (after SECRETS rotated): written only while the row still holds `previous`. */
  resealTotp(userId: string, previous: string, next: string): Promise<void>;
  deleteTotp(userId: string): Promise<boolean>;
  /** Replaces every recovery code of the account with these hashes. */
  replaceRecoveryCodes(userId: string, hashes: string[], now: Date): Promise<void>;
  /** Marks an unused code of this account used (atomic); false when unknown or already used. */
  useRecoveryCode(userId: string, hash: string, now: Date): Promise<boolean>;
  unusedRecoveryCodes(userId: string): Promise<number>;
  deleteRecoveryCodes(userId: string): Promise<number>;
}

/** The reference implementation (unit tests, single process). */
export function createMemoryMfaStore(): MfaStore {
  const totp = new Map<string, TotpFactorRecord>();
  const codes = new Map<string, { userId: string; usedAt: Date | null }>();
  return {
    async findTotp(userId) {
      const row = totp.get(userId);
      return row ? { ...row } : undefined;
    },
    async startTotp(record) {
      if (totp.get(record.userId)?.confirmedAt) return false;
      totp.set(record.userId, { ...record, confirmedAt: null, lastStep: 0, lastUsedAt: null });
      return true;
    },
    async confirmTotp(userId, step, now) {
      const row = totp.get(userId);
      if (!row || row.confirmedAt) return false;
      Object.assign(row, { confirmedAt: now, lastStep: step, lastUsedAt: now });
      return true;
    },
    async acceptStep(userId, step, now) {
      const row = totp.get(userId);
      if (!row?.confirmedAt || row.lastStep >= step) return false;
      Object.assign(row, { lastStep: step, lastUsedAt: now });
      return true;
    },
    async resealTotp(userId, previous, next) {
      const row = totp.get(userId);
      if (row?.secret === previous) row.secret = next;
    },
    async deleteTotp(userId) {
      return totp.delete(userId);
    },
    async replaceRecoveryCodes(userId, hashes) {
      for (const [hash, row] of codes) if (row.userId === userId) codes.delete(hash);
      for (const hash of hashes) codes.set(hash, { userId, usedAt: null });
    },
    async useRecoveryCode(userId, hash, now) {
      const row = codes.get(hash);
      if (!row || row.userId !== userId || row.usedAt) return false;
      row.usedAt = now;
      return true;
    },
    async unusedRecoveryCodes(userId) {
      return [...codes.values()].filter((c) => c.userId === userId && !c.usedAt).length;
    },
    async deleteRecoveryCodes(userId) {
      let n = 0;
      for (const [hash, row] of codes) if (row.userId === userId) n += Number(codes.delete(hash));
      return n;
    },
  };
}
