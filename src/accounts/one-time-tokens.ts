import type { Clock } from '../lib/clock.js';
import { sha256 } from '../lib/digest.js';
import { randomToken } from '../lib/random.js';

/**
 * Single-use tokens mailed to a person (docs/security.md, ASVS 6.4.1 / 11.5.1): 256 random bits, only the
 * SHA-256 stored (the token is random, so a plain digest is enough to make a copy of the table
 * useless), single use by an atomic conditional update, and a short lifetime per purpose.
 */
export type OneTimeTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

/** docs/architecture.md, Tokens: email verification 24 h, password reset 30 min. */
export const ONE_TIME_TOKEN_TTL_SECONDS: Record<OneTimeTokenPurpose, number> = {
  verify_email: 24 * 3600,
  reset_password: 30 * 60,
  /** A new address is confirmed like a first one. */
  change_email: 24 * 3600,
};

export interface OneTimeTokenRecord {
  /** SHA-256 of the token, base64url. */
  hash: string;
  purpose: OneTimeTokenPurpose;
  userId: string;
  /** change_email: the new address. */
  data?: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** What a presented token turned out to be. Only `valid` carries the account. */
export type OneTimeTokenState =
  | { status: 'valid'; userId: string; data: string | null }
  | { status: 'used' }
  | { status: 'expired' }
  | { status: 'unknown' };

/** What a stored row (or its absence) means for a token presented for `purpose` at `now`. */
export function classifyOneTimeToken(
  row: { purpose: string; userId: string; data?: string | null; expiresAt: Date; consumedAt: Date | null } | null | undefined,
  purpose: OneTimeTokenPurpose,
  now: Date,
): OneTimeTokenState {
  if (!row || row.purpose !== purpose) return { status: 'unknown' };
  if (row.consumedAt) return { status: 'used' };
  if (row.expiresAt <= now) return { status: 'expired' };
  return { status: 'valid', userId: row.userId, data: row.data ?? null };
}

export interface OneTimeTokenStore {
  insert(record: OneTimeTokenRecord): Promise<void>;
  /** Reads without consuming (the page a mail link opens; mail scanners prefetch links). */
  peek(hash: string, purpose: OneTimeTokenPurpose, now: Date): Promise<OneTimeTokenState>;
  /** Atomic "set consumed where not consumed and not expired": of two concurrent calls one gets `valid`. */
  consume(hash: string, purpose: OneTimeTokenPurpose, now: Date): Promise<OneTimeTokenState>;
  /** Deletes the account's tokens of this purpose that were never used (older links die). */
  revokeUnused(userId: string, purpose: OneTimeTokenPurpose): Promise<number>;
  /** Deletes expired tokens; returns how many. */
  sweepExpired(now: Date): Promise<number>;
}

/** A token's stored form: what the database keeps instead of the token. */
export const hashOneTimeToken = (token: string): string => sha256(token);

/** Tokens we issue are 32 random bytes as base64url; anything else is not ours (checked before any lookup). */
export const ONE_TIME_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
export const isWellFormedToken = (token: unknown): token is string => typeof token === 'string' && ONE_TIME_TOKEN_PATTERN.test(token);

/** Creates and stores a new token; returns the token itself, which only the mail will ever hold. */
export async function issueOneTimeToken(
  deps: { tokens: OneTimeTokenStore; clock: Clock },
  userId: string,
  purpose: OneTimeTokenPurpose,
  data?: string,
): Promise<string> {
  const token = randomToken(32);
  const now = deps.clock.now();
  await deps.tokens.insert({
    hash: hashOneTimeToken(token),
    purpose,
    userId,
    ...(data === undefined ? {} : { data }),
    createdAt: now,
    expiresAt: new Date(now.getTime() + ONE_TIME_TOKEN_TTL_SECONDS[purpose] * 1000),
  });
  return token;
}

/** The reference implementation: a Map. Single process only (unit tests). */
export function createMemoryOneTimeTokenStore(): OneTimeTokenStore {
  const rows = new Map<string, OneTimeTokenRecord & { consumedAt: Date | null }>();
  const state = (hash: string, purpose: OneTimeTokenPurpose, now: Date): OneTimeTokenState =>
    classifyOneTimeToken(rows.get(hash), purpose, now);
  return {
    async insert(record) {
      if (rows.has(record.hash)) throw new Error('one-time token already exists');
      rows.set(record.hash, { ...record, consumedAt: null });
    },
    async peek(hash, purpose, now) {
      return state(hash, purpose, now);
    },
    async consume(hash, purpose, now) {
      const current = state(hash, purpose, now);
      if (current.status === 'valid') rows.get(hash)!.consumedAt = now;
      return current;
    },
    async revokeUnused(userId, purpose) {
      let n = 0;
      for (const [k, row] of rows) if (row.userId === userId && row.purpose === purpose && !row.consumedAt) n += Number(rows.delete(k));
      return n;
    },
    async sweepExpired(now) {
      let n = 0;
      for (const [k, row] of rows) if (row.expiresAt <= now) n += Number(rows.delete(k));
      return n;
    },
  };
}
