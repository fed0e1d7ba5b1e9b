import type { User, UserRepository, UserStatus } from '../accounts/users.js';
import type { DatabaseKind } from '../config/schema.js';
import type { Db } from './database.js';
import type { User as UserRow } from './generated/sqlite/client.js';
import { select } from './raw-sql.js';
import { isUniqueViolation } from './unique-violation.js';

const toUser = (row: UserRow): User => ({ ...row, status: row.status as UserStatus });

/** The columns of `users` as a raw SELECT returns them (the model's fields, by their column names). */
type RawUserRow = {
  id: string;
  email: string;
  password_hash: string | null;
  status: string;
  ban_reason: string | null;
  banned_at: Date | null;
  email_verified_at: Date | null;
  password_disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
};
const USER_COLUMNS = 'id, email, password_hash, status, ban_reason, banned_at, email_verified_at, password_disabled_at, created_at, updated_at';
const fromRaw = (r: RawUserRow): User => ({
  id: r.id,
  email: r.email,
  passwordHash: r.password_hash,
  status: r.status as UserStatus,
  banReason: r.ban_reason,
  bannedAt: r.banned_at,
  emailVerifiedAt: r.email_verified_at,
  passwordDisabledAt: r.password_disabled_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export function createPrismaUserRepository(db: Db, kind: DatabaseKind): UserRepository {
  return {
    async insert(user) {
      if (kind === 'postgres') {
        // INSERT ... ON CONFLICT DO NOTHING: inside a transaction (signup writes its audit row in the
        // same one) PostgreSQL aborts the whole transaction on a statement the unique index refuses.
        // The models are shared, but the SQLite client type (the one repositories are written
        // against) has no skipDuplicates: SQLite does not support it.
        const createMany = db.user.createMany as unknown as (args: { data: unknown[]; skipDuplicates: boolean }) => Promise<{ count: number }>;
        const { count } = await createMany.call(db.user, { data: [user], skipDuplicates: true });
        return count === 1;
      }
      // SQLite keeps its transaction after a refused statement, and the write must come first: a
      // deferred transaction that reads first cannot take the write lock once another process wrote.
      try {
        await db.user.create({ data: user });
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    // Every sign-in and every token for a person looks the account up: hand-written SQL (raw-sql.ts).
    async findByEmail(email) {
      const [row] = await select<RawUserRow>(db, `SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, email);
      return row ? fromRaw(row) : undefined;
    },
    async findById(id) {
      const [row] = await select<RawUserRow>(db, `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, id);
      return row ? fromRaw(row) : undefined;
    },
    async countByStatus(status) {
      return db.user.count({ where: { status } });
    },
    async list({ limit, offset }) {
      return (await db.user.findMany({ orderBy: { createdAt: 'asc' }, take: limit, skip: offset })).map(toUser);
    },
    async update(id, changes) {
      const { count } = await db.user.updateMany({ where: { id }, data: changes });
      if (count === 0) return undefined;
      const row = await db.user.findUnique({ where: { id } });
      return row ? toUser(row) : undefined;
    },
    async disablePassword(id, at) {
      // Conditional: of several failures that reach the limit at once, one disables (and mails).
      const { count } = await db.user.updateMany({ where: { id, passwordDisabledAt: null }, data: { passwordDisabledAt: at, updatedAt: at } });
      return count === 1;
    },
    async delete(id) {
      const { count } = await db.user.deleteMany({ where: { id } });
      return count === 1;
    },
  };
}
