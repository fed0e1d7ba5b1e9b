/**
 * What must be refused before it expires, for the revocation feed (feed.ts). Written only when
 * something is revoked (a ban, a password reset, a revoked grant, a revoked access token), never per
 * token issued, so issuing tokens costs nothing more.
 *
 * - `subject`: every access token of subject `ref` whose `iat` is before `notBefore` is void;
 * - `grant`: every access token whose `gh_grant` claim (SHA-256 of its grant id) is `ref` is void;
 * - `token`: the access token whose `jti` is `ref` is void.
 */
export type RevocationKind = 'subject' | 'grant' | 'token';

export type RevocationEntry =
  | { kind: 'subject'; ref: string; notBefore: Date; createdAt: Date }
  | { kind: 'grant' | 'token'; ref: string; createdAt: Date };

export interface RevocationStore {
  /** Adds an entry, or renews it (a later `notBefore`, a later `createdAt`) when it exists. */
  record(entry: RevocationEntry): Promise<void>;
  /** Every entry recorded after `since`. */
  listSince(since: Date): Promise<RevocationEntry[]>;
  /** Deletes entries recorded before `before`; returns how many. */
  sweep(before: Date): Promise<number>;
}

/**
 * A subject's cut-off: the next whole second. Access tokens carry `iat` in whole seconds, so every
 * token issued up to now (including earlier in this second) has `iat` before it. A token issued
 * later in this same second is refused too: the price of second-granular `iat`, paid once by a client
 * that refreshes (never by another user).
 */
export function subjectCutoff(now: Date): Date {
  return new Date((Math.floor(now.getTime() / 1000) + 1) * 1000);
}

/** The reference implementation: a Map (tests, a single process). */
export function createMemoryRevocationStore(): RevocationStore {
  const rows = new Map<string, RevocationEntry>();
  return {
    async record(entry) {
      rows.set(`${entry.kind}\u0000${entry.ref}`, { ...entry });
    },
    async listSince(since) {
      return [...rows.values()].filter((e) => e.createdAt.getTime() > since.getTime()).map((e) => ({ ...e }));
    },
    async sweep(before) {
      let n = 0;
      for (const [k, e] of rows) if (e.createdAt.getTime() < before.getTime()) n += Number(rows.delete(k));
      return n;
    },
  };
}
