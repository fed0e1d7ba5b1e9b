import type { User, UserRepository, UserStatus } from '../accounts/users.js';
import type { Db } from './database.js';
import type { User as UserRow } from './generated/sqlite/client.js';
import { isUniqueViolation } from './unique-violation.js';

const toUser = (row: UserRow): User => ({ ...row, status: row.status as UserStatus });

export function createPrismaUserRepository(db: Db): UserRepository {
  return {
    async insert(user) {
      // An upsert that changes nothing on a taken address, rather than an INSERT the unique index
      // refuses: inside a transaction (signup writes its audit row in the same one), PostgreSQL
      // aborts the whole transaction on a refused statement, and the audit row could not follow.
      try {
        const row = await db.user.upsert({ where: { email: user.email }, create: user, update: {} });
        return row.id === user.id;
      } catch (err) {
        // Two signups for one address at the same instant: the second one's INSERT is refused.
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
  };
}
