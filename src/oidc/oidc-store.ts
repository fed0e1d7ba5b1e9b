import { sha256 } from '../lib/digest.js';
import { subjectCutoff, type RevocationStore } from '../revocation/revocation-store.js';

/**
 * The persistence port behind oidc-provider's adapter: every model (Session, Grant, Interaction,
 * AuthorizationCode, RefreshToken, DeviceCode, ...) keyed by model + id. Implementations: the memory
 * store below (the reference) and persistence/prisma-oidc-store.ts (SQLite, PostgreSQL). The contract
 * suite runs against all of them.
 */
export type OidcPayload = Record<string, unknown> & {
  jti?: string;
  grantId?: string;
  accountId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/** A live row of an account: its grant id (a Grant's own id) and its payload. */
export interface AccountRow {
  model: string;
  grantId: string | undefined;
  payload: OidcPayload;
  expiresAt: Date | undefined;
}

export type ConsumeResult =
  | { status: 'consumed' }
  | { status: 'already_consumed'; grantId?: string }
  | { status: 'missing' };

export interface OidcStore {
  /** `expiresIn` seconds from now; undefined = no expiry. */
  upsert(model: string, id: string, payload: OidcPayload, expiresIn: number | undefined): Promise<void>;
  /** Expired rows are treated as missing. */
  find(model: string, id: string): Promise<OidcPayload | undefined>;
  findByUid(model: string, uid: string): Promise<OidcPayload | undefined>;
  findByUserCode(model: string, userCode: string): Promise<OidcPayload | undefined>;
  /** Atomic "set consumed where not consumed": of two concurrent calls exactly one gets 'consumed'. */
  consume(model: string, id: string): Promise<ConsumeResult>;
  destroy(model: string, id: string): Promise<void>;
  /** Every row of the grant; also records the grant for the revocation feed (its JWTs are not stored). */
  revokeByGrantId(grantId: string): Promise<void>;
  /** Whether the grant whose id hashes (SHA-256, base64url) to `grantRef` exists and has not expired. */
  grantAlive(grantRef: string): Promise<boolean>;
  /** Every session, grant and token of an account (ban, password reset); also records the subject for
   * the revocation feed, so its JWT access tokens issued until now are refused. With `keepSession`,
   * the session with that id survives (a password change keeps the browser that made it signed in). */
  revokeByAccountId(accountId: string, options?: { keepSession?: string }): Promise<number>;
  /** The account's live rows of these models (the account page lists sessions and grants). */
  listByAccountId(accountId: string, models: readonly string[]): Promise<AccountRow[]>;
  /** Deletes expired rows; returns how many. */
  sweepExpired(): Promise<number>;
}

/** Models oidc-provider looks up by uid or user code, whose payload must keep its own id (`jti`). */
export const MODELS_KEEPING_JTI = new Set(['Session', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/** The grant a row belongs to: its own id for a Grant, `grantId` for everything issued from one. */
export function grantIdOf(model: string, id: string, payload: OidcPayload): string | undefined {
  return model === 'Grant' ? id : payload.grantId;
}

type Row = { payload: OidcPayload; expiresAt?: number; consumedAt?: number; grantId?: string; accountId?: string };

/** The reference implementation: a Map. Single process only (tests, the bench ceiling). */
export function createMemoryOidcStore(now: () => number = Date.now, revocations?: RevocationStore): OidcStore {
  const rows = new Map<string, Row>();
  const key = (model: string, id: string) => `${model}\u0000${id}`;
  const live = (row: Row | undefined) => (row && (row.expiresAt === undefined || row.expiresAt > now()) ? row : undefined);
  const view = (row: Row | undefined): OidcPayload | undefined =>
    row ? { ...row.payload, ...(row.consumedAt !== undefined ? { consumed: Math.floor(row.consumedAt / 1000) } : {}) } : undefined;
  const findBy = (model: string, field: 'uid' | 'userCode', value: string) => {
    for (const [k, row] of rows) if (k.startsWith(`${model}\u0000`) && row.payload[field] === value && live(row)) return view(row);
    return undefined;
  };

  return {
    async upsert(model, id, payload, expiresIn) {
      const previous = rows.get(key(model, id));
      rows.set(key(model, id), {
        payload: { ...payload },
        expiresAt: expiresIn === undefined ? undefined : now() + expiresIn * 1000,
        consumedAt: previous?.consumedAt,
        grantId: grantIdOf(model, id, payload),
        accountId: payload.accountId,
      });
    },
    async find(model, id) {
      return view(live(rows.get(key(model, id))));
    },
    async findByUid(model, uid) {
      return findBy(model, 'uid', uid);
    },
    async findByUserCode(model, userCode) {
      return findBy(model, 'userCode', userCode);
    },
    async consume(model, id) {
      const row = live(rows.get(key(model, id)));
      if (!row) return { status: 'missing' };
      if (row.consumedAt !== undefined) return { status: 'already_consumed', grantId: row.grantId };
      row.consumedAt = now();
      return { status: 'consumed' };
    },
    async destroy(model, id) {
      rows.delete(key(model, id));
    },
    async revokeByGrantId(grantId) {
      await revocations?.record({ kind: 'grant', ref: sha256(grantId), createdAt: new Date(now()) });
      for (const [k, row] of rows) if (row.grantId === grantId) rows.delete(k);
    },
    async grantAlive(grantRef) {
      for (const [k, row] of rows) {
        if (k.startsWith('Grant\u0000') && live(row) && sha256(k.slice('Grant\u0000'.length)) === grantRef) return true;
      }
      return false;
    },
    async revokeByAccountId(accountId, options = {}) {
      const at = new Date(now());
      await revocations?.record({ kind: 'subject', ref: accountId, notBefore: subjectCutoff(at), createdAt: at });
      const kept = options.keepSession === undefined ? undefined : key('Session', options.keepSession);
      let n = 0;
      for (const [k, row] of rows) if (row.accountId === accountId && k !== kept) n += Number(rows.delete(k));
      return n;
    },
    async listByAccountId(accountId, models) {
      const out: AccountRow[] = [];
      for (const [k, row] of rows) {
        const model = k.slice(0, k.indexOf('\u0000'));
        if (row.accountId !== accountId || !models.includes(model) || !live(row)) continue;
        out.push({ model, grantId: row.grantId, payload: view(row)!, expiresAt: row.expiresAt === undefined ? undefined : new Date(row.expiresAt) });
      }
      return out;
    },
    async sweepExpired() {
      let n = 0;
      for (const [k, row] of rows) if (!live(row)) n += Number(rows.delete(k));
      return n;
    },
  };
}
