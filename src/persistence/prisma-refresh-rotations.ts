import type { Clock } from '../lib/clock.js';
import type { RefreshRotationStore } from '../oidc/refresh-rotation-store.js';
import type { Db } from './database.js';
import { isWriteConflict, translateDatabaseError } from './database-errors.js';
import { createPrismaOidcStore } from './prisma-oidc-store.js';
import type { OidcStore } from '../oidc/oidc-store.js';
import type { GrantWrites, NewRotationClaim } from '../oidc/refresh-rotation-store.js';
import { directTransaction, execute, select, type RawClient } from './raw-sql.js';
import { isUniqueViolation } from './unique-violation.js';

/** Waiting for a connection (PostgreSQL pool) or the write lock (SQLite) before giving up with a 503. */
const MAX_WAIT_MS = 5_000;
/** A deadlock guard: a grant's writes are a handful of statements. */
const TIMEOUT_MS = 10_000;

const CONFLICT = Symbol('conflict');
/** A transaction PostgreSQL aborted as a deadlock wrote nothing and runs again (below). */
const COMMIT_ATTEMPTS = 3;

/**
 * The claim is an INSERT on the token's hash inside the grant's transaction: the primary key lets
 * exactly one rotation commit. On PostgreSQL a concurrent duplicate waits on that key until the first
 * transaction ends, then fails (it committed) or goes ahead (it rolled back: crash, dropped
 * connection); on SQLite the write lock orders them. A process killed mid-way holds nothing: the
 * database rolls its transaction back.
 */
export function createPrismaRefreshRotationStore(db: Db, clock: Clock): RefreshRotationStore {
  const rows = db.refreshRotation;
  /** The claim (if any), then the grant's writes; CONFLICT when the writes' conditional step fails. */
  const claimAndWrite = async (tx: RawClient, store: OidcStore, claim: NewRotationClaim | null, writes: GrantWrites) => {
    if (claim) {
      // One statement: the claim, or the takeover of a claim without a response (left by an older
      // version that crashed mid-rotation). A claim with a response is a rotation that committed:
      // nothing is written (0 rows) and this one lost. A concurrent claim still in its transaction
      // is waited for on the key, as a plain INSERT would (PostgreSQL), or ordered by the write lock
      // (SQLite).
      const claimed = await execute(
        tx,
        'INSERT INTO refresh_rotations (token_hash, client_id, response, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) ' +
          'ON CONFLICT (token_hash) DO UPDATE SET client_id = excluded.client_id, response = excluded.response, ' +
          'created_at = excluded.created_at, expires_at = excluded.expires_at WHERE refresh_rotations.response IS NULL',
        claim.tokenHash,
        claim.clientId,
        claim.response,
        claim.createdAt,
        claim.expiresAt,
      );
      if (claimed === 0) throw CONFLICT;
    }
    if (!(await writes(store))) throw CONFLICT;
  };
  const commitOnce: RefreshRotationStore['commit'] = async (claim, writes) => {
    // What the work inside throws is already translated (queries) or is a bug; what the transaction
    // itself throws (begin, commit, its timeout) is the database's.
    let inside: { error: unknown } | undefined;
    const direct = directTransaction(db);
    try {
      if (direct) {
        // The same statements without Prisma (raw-sql.ts): on SQLite's writing connection, or on a
        // PostgreSQL pool connection. What their queries throw is the driver's own error, translated
        // below; anything else thrown inside is ours and goes out as it is.
        const fromDriver = new WeakSet<object>();
        const mark = (error: unknown) => {
          if (error !== null && typeof error === 'object') fromDriver.add(error);
          throw error;
        };
        await direct(async (raw) => {
          const tx: RawClient = {
            $queryRawUnsafe: (sql, ...params) => raw.$queryRawUnsafe(sql, ...params).catch(mark),
            $executeRawUnsafe: (sql, ...params) => raw.$executeRawUnsafe(sql, ...params).catch(mark),
          } as RawClient;
          try {
            await claimAndWrite(tx, createPrismaOidcStore(tx as never, clock, { inTransaction: true }), claim, writes);
          } catch (error) {
            if (!(error !== null && typeof error === 'object' && fromDriver.has(error))) inside = { error };
            throw error;
          }
        });
      } else {
        await db.$transaction(
          async (tx) => {
            try {
              await claimAndWrite(tx, createPrismaOidcStore(tx, clock, { inTransaction: true }), claim, writes);
            } catch (error) {
              inside = { error };
              throw error;
            }
          },
          { maxWait: MAX_WAIT_MS, timeout: TIMEOUT_MS },
        );
      }
      return 'committed';
    } catch (err) {
      if (err === CONFLICT || isUniqueViolation(err)) return 'conflict';
      throw inside?.error === err ? err : translateDatabaseError(err);
    }
  };
  return {
    async get(tokenHash) {
      const [row] = await select<{ client_id: string; created_at: Date; response: string | null }>(
        db,
        'SELECT client_id, created_at, response FROM refresh_rotations WHERE token_hash = $1',
        tokenHash,
      );
      return row ? { clientId: row.client_id, createdAt: row.created_at, response: row.response } : undefined;
    },
    async commit(claim, writes) {
      // Several requests revoking one grant at once (the losers of a race for one token) can
      // deadlock on PostgreSQL; the aborted transaction wrote nothing, so it is run again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await commitOnce(claim, writes);
        } catch (err) {
          if (attempt >= COMMIT_ATTEMPTS || !isWriteConflict(err)) throw err;
          await new Promise((resolve) => setTimeout(resolve, attempt * (5 + Math.random() * 20)));
        }
      }
    },
    async sweepExpired(now) {
      const { count } = await rows.deleteMany({ where: { expiresAt: { lte: now } } });
      return count;
    },
  };
}
