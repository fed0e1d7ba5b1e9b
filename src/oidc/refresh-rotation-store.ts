import type { OidcStore } from './oidc-store.js';

/**
 * Where a token grant's writes land, all at once. A refresh rotation (consume the old token, store
 * its successor and the access token) and the record of its response for the grace window commit in
 * one transaction or not at all, so a crash or a dropped connection at any moment leaves either the
 * old token usable or the successor stored with its response: never a consumed token without a
 * successor, never a claim nobody will complete. The authorization-code and device grants commit
 * their writes the same way, without a claim.
 */
export interface RotationClaim {
  clientId: string;
  createdAt: Date;
  /** The sealed token response of the rotation. Null only in rows an older version left behind. */
  response: string | null;
}

export interface NewRotationClaim {
  /** SHA-256 of the rotated (old) refresh token. */
  tokenHash: string;
  clientId: string;
  createdAt: Date;
  expiresAt: Date;
  response: string;
}

/**
 * The writes of one grant, against a store bound to the commit's transaction. They perform their
 * one conditional step (consuming the code or token) before any other write and return false when it
 * fails, so the commit is all-or-nothing even where the store has no transactions (memory).
 */
export type GrantWrites = (store: OidcStore) => Promise<boolean>;

export interface RefreshRotationStore {
  /** The rotation recorded for a refresh token (by its hash), if any. */
  get(tokenHash: string): Promise<RotationClaim | undefined>;
  /**
   * One transaction: records `claim` (unless null) and runs `writes`. 'conflict', with nothing
   * written, when a claim for the token exists already (another request rotated it first) or the
   * writes' conditional step failed.
   */
  commit(claim: NewRotationClaim | null, writes: GrantWrites): Promise<'committed' | 'conflict'>;
  sweepExpired(now: Date): Promise<number>;
}

/** The reference implementation over the memory OidcStore: commits run one at a time. */
export function createMemoryRefreshRotationStore(oidcStore: OidcStore): RefreshRotationStore {
  const rows = new Map<string, RotationClaim & { expiresAt: Date }>();
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => {});
    return run;
  };
  return {
    async get(tokenHash) {
      const row = rows.get(tokenHash);
      return row && { clientId: row.clientId, createdAt: row.createdAt, response: row.response };
    },
    commit(claim, writes) {
      return serially(async () => {
        if (claim && rows.get(claim.tokenHash)?.response) return 'conflict';
        if (!(await writes(oidcStore))) return 'conflict';
        if (claim) rows.set(claim.tokenHash, { ...claim });
        return 'committed';
      });
    },
    async sweepExpired(now) {
      let n = 0;
      for (const [k, row] of rows) if (row.expiresAt <= now) n += Number(rows.delete(k));
      return n;
    },
  };
}
