/**
 * Bookkeeping for refresh-token rotation with a grace window. The first request to present a refresh
 * token claims it (an atomic insert); concurrent and retried requests within the window wait for the
 * winner's response and get the same successor instead of a fork or a revoked family.
 */
export interface RotationClaim {
  clientId: string;
  createdAt: Date;
  /** The winner's sealed token response; null while it is in flight. */
  response: string | null;
}

export interface RefreshRotationStore {
  /** 'won' when this call inserted the claim; otherwise the existing claim. */
  claim(tokenHash: string, clientId: string, now: Date, expiresAt: Date): Promise<'won' | RotationClaim>;
  get(tokenHash: string): Promise<RotationClaim | undefined>;
  complete(tokenHash: string, response: string): Promise<void>;
  /** The winner failed: drop the claim so a retry is decided afresh. */
  release(tokenHash: string): Promise<void>;
  sweepExpired(now: Date): Promise<number>;
}

export function createMemoryRefreshRotationStore(): RefreshRotationStore {
  const rows = new Map<string, RotationClaim & { expiresAt: Date }>();
  return {
    async claim(tokenHash, clientId, now, expiresAt) {
      const existing = rows.get(tokenHash);
      if (existing) return { clientId: existing.clientId, createdAt: existing.createdAt, response: existing.response };
      rows.set(tokenHash, { clientId, createdAt: now, response: null, expiresAt });
      return 'won';
    },
    async get(tokenHash) {
      const row = rows.get(tokenHash);
      return row && { clientId: row.clientId, createdAt: row.createdAt, response: row.response };
    },
    async complete(tokenHash, response) {
      const row = rows.get(tokenHash);
      if (row) row.response = response;
    },
    async release(tokenHash) {
      rows.delete(tokenHash);
    },
    async sweepExpired(now) {
      let n = 0;
      for (const [k, row] of rows) if (row.expiresAt <= now) n += Number(rows.delete(k));
      return n;
    },
  };
}
