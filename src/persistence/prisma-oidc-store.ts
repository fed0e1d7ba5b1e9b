import type { Clock } from '../lib/clock.js';
import { sha256 } from '../lib/digest.js';
import { grantIdOf, MODELS_KEEPING_JTI, type OidcPayload, type OidcStore } from '../oidc/oidc-store.js';
import { subjectCutoff } from '../revocation/revocation-store.js';
import type { DbTransaction } from './database.js';
import { isWriteConflict } from './database-errors.js';
import { createPrismaRevocationStore } from './prisma-revocations.js';
import { execute, select } from './raw-sql.js';

const DELETE_ATTEMPTS = 5;

/**
 * Deleting is idempotent, so a delete PostgreSQL aborted as a deadlock runs again. They happen when
 * several requests revoke one grant at once (the losers of a race for one refresh token each revoke
 * it, and oidc-provider revokes a grant with one delete per model, side by side): without this, a
 * loser got a 503 instead of invalid_grant. Inside a transaction an aborted statement has aborted the
 * whole transaction: whoever opened it runs it again.
 */
async function idempotentDelete<T>(work: () => Promise<T>, retry: boolean): Promise<T> {
  if (!retry) return work();
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= DELETE_ATTEMPTS || !isWriteConflict(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, attempt * (5 + Math.random() * 20)));
    }
  }
}

/**
 * oidc-provider's models in the `oidc_payloads` table, on SQLite or PostgreSQL.
 * Ids and user codes are stored as SHA-256, and the payload keeps its own id only where oidc-provider
 * must find the row by uid or user code (Session, DeviceCode); so a copy of the table holds no usable
 * authorization code, refresh token, access token or grant id.
 * Given a transaction (`inTransaction`), every call runs inside it (a token grant's writes commit
 * together).
 * Revoking a grant or an account also records it for the revocation feed (revocation/feed.ts): the
 * JWT access tokens already issued from it are not stored, so resource servers learn of them there.
 */
export function createPrismaOidcStore(
  db: Pick<DbTransaction, 'oidcPayload' | 'revocation' | '$queryRawUnsafe' | '$executeRawUnsafe'>,
  clock: Clock,
  { inTransaction = false } = {},
): OidcStore {
  const rows = db.oidcPayload;
  const revocations = createPrismaRevocationStore(db);
  const retry = !inTransaction;
  const now = () => clock.now();
  const live = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: now() } }] });

  const toPayload = (
    row: { payload: string; consumedAt: Date | null } | null | undefined,
    id?: string,
  ): OidcPayload | undefined => {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as OidcPayload;
    if (id !== undefined) payload.jti = id;
    if (row.consumedAt) payload.consumed = Math.floor(row.consumedAt.getTime() / 1000);
    return payload;
  };
  // The statements of every token request are hand-written SQL (raw-sql.ts says why); the rest stays
  // on the model API. "Live" is the same condition as live() above.
  type Row = { payload: string; consumed_at: Date | null };
  const fromRow = (row: Row | undefined, id?: string) => toPayload(row && { payload: row.payload, consumedAt: row.consumed_at }, id);
  const findWhere = async (column: 'id' | 'uid' | 'user_code', model: string, value: string) =>
    (
      await select<Row>(
        db,
        `SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > $3) LIMIT 1`,
        model,
        value,
        now(),
      )
    )[0];

  return {
    async upsert(model, id, payload, expiresIn) {
      const stored = { ...payload };
      if (!MODELS_KEEPING_JTI.has(model)) delete stored.jti;
      delete stored.consumed;
      // The user code is typed by a person and looked up by its hash; it is given back by that lookup.
      delete stored.userCode;
      const data = {
        payload: JSON.stringify(stored),
        grantId: grantIdOf(model, id, payload) ?? null,
        accountId: typeof payload.accountId === 'string' ? payload.accountId : null,
        userCode: typeof payload.userCode === 'string' ? sha256(payload.userCode) : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        expiresAt: expiresIn === undefined ? null : new Date(now().getTime() + expiresIn * 1000),
      };
      // One statement on both databases (what the model API's upsert sends too).
      await execute(
        db,
        `INSERT INTO oidc_payloads (model, id, payload, grant_id, account_id, user_code, uid, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        model,
        sha256(id),
        data.payload,
        data.grantId,
        data.accountId,
        data.userCode,
        data.uid,
        data.expiresAt,
      );
    },

    async find(model, id) {
      return fromRow(await findWhere('id', model, sha256(id)), id);
    },

    async findByUid(model, uid) {
      return fromRow(await findWhere('uid', model, uid));
    },

    async findByUserCode(model, userCode) {
      const payload = fromRow(await findWhere('user_code', model, sha256(userCode)));
      return payload && { ...payload, userCode };
    },

    async consume(model, id) {
      const key = sha256(id);
      const at = now();
      // One conditional UPDATE; its row count decides, so two concurrent redemptions have one winner.
      const count = await execute(
        db,
        'UPDATE oidc_payloads SET consumed_at = $1 WHERE model = $2 AND id = $3 AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > $4)',
        at,
        model,
        key,
        at,
      );
      if (count === 1) return { status: 'consumed' };
      const [row] = await select<{ grant_id: string | null }>(db, 'SELECT grant_id FROM oidc_payloads WHERE model = $1 AND id = $2', model, key);
      return row ? { status: 'already_consumed', ...(row.grant_id ? { grantId: row.grant_id } : {}) } : { status: 'missing' };
    },

    async destroy(model, id) {
      await idempotentDelete(() => execute(db, 'DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', model, sha256(id)), retry);
    },

    async revokeByGrantId(grantId) {
      // Recorded first: a failure after it leaves tokens refused, never a revoked grant still honoured.
      // Hand-written SQL (a grant's commit may revoke: raw-sql.ts), the same upsert as the revocation
      // store's record().
      await idempotentDelete(
        () =>
          execute(
            db,
            'INSERT INTO revocations (kind, ref, not_before, created_at) VALUES ($1, $2, NULL, $3) ON CONFLICT (kind, ref) DO UPDATE SET not_before = excluded.not_before, created_at = excluded.created_at',
            'grant',
            sha256(grantId),
            now(),
          ),
        retry,
      );
      await idempotentDelete(() => execute(db, 'DELETE FROM oidc_payloads WHERE grant_id = $1', grantId), retry);
    },

    // Stored Grant ids are already SHA-256 of the engine's id: the reference is the key.
    async grantAlive(grantRef) {
      return (await rows.count({ where: { model: 'Grant', id: grantRef, ...live() } })) > 0;
    },

    async revokeByAccountId(accountId, options = {}) {
      const at = now();
      await idempotentDelete(() => revocations.record({ kind: 'subject', ref: accountId, notBefore: subjectCutoff(at), createdAt: at }), retry);
      const keep = options.keepSession === undefined ? {} : { NOT: { model: 'Session', id: sha256(options.keepSession) } };
      const { count } = await idempotentDelete(() => rows.deleteMany({ where: { accountId, ...keep } }), retry);
      return count;
    },

    async listByAccountId(accountId, models) {
      const found = await rows.findMany({ where: { accountId, model: { in: [...models] }, ...live() }, orderBy: { expiresAt: 'asc' } });
      return found.map((row) => ({
        model: row.model,
        grantId: row.grantId ?? undefined,
        payload: toPayload(row)!,
        expiresAt: row.expiresAt ?? undefined,
      }));
    },

    async sweepExpired() {
      const { count } = await rows.deleteMany({ where: { expiresAt: { lte: now() } } });
      return count;
    },
  };
}
