import type { User, UserRepository, UserStatus } from '../accounts/users.js';
import type { DatabaseKind } from '../config/schema.js';
import type { Db } from './database.js';
import type { User as UserRow } from './generated/sqlite/client.js';
import { isUniqueViolation } from './unique-violation.js';

const toUser = (row: UserRow): User => ({ ...row, status: row.status as UserStatus });

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
    async findByEmail(email) {
      const row = await db.user.findUnique({ where: { email } });
      return row ? toUser(row) : undefined;
    },
    async findById(id) {
      const row = await db.user.findUnique({ where: { id } });
      return row ? toUser(row) : undefined;
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
    async delete(id) {
      const { count } = await db.user.deleteMany({ where: { id } });
      return count === 1;
    },
  };
}
