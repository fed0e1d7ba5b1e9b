/** A person who signs in with an email and a password. */
export type UserStatus = 'active' | 'banned';

export interface User {
  id: string;
  email: string;
  passwordHash: string | null;
  status: UserStatus;
  banReason: string | null;
  bannedAt: Date | null;
  emailVerifiedAt: Date | null;
  passwordDisabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A new active account (operator-created or signed up). */
export function newUser(fields: { email: string; passwordHash: string; now: Date; emailVerifiedAt: Date | null }): User {
  return {
    id: crypto.randomUUID(),
    email: fields.email,
    passwordHash: fields.passwordHash,
    status: 'active',
    banReason: null,
    bannedAt: null,
    emailVerifiedAt: fields.emailVerifiedAt,
    passwordDisabledAt: null,
    createdAt: fields.now,
    updatedAt: fields.now,
  };
}

export interface UserRepository {
  /** False when the email is taken (the unique index decides, not a prior read). */
  insert(user: User): Promise<boolean>;
  findByEmail(email: string): Promise<User | undefined>;
  findById(id: string): Promise<User | undefined>;
  list(options: { limit: number; offset: number }): Promise<User[]>;
  countByStatus(status: UserStatus): Promise<number>;
  update(id: string, changes: Partial<Omit<User, 'id' | 'createdAt'>>): Promise<User | undefined>;
  /** Disables the account's password at `at` unless it already is: true for the one call that did it. */
  disablePassword(id: string, at: Date): Promise<boolean>;
  /** Removes the account for good (the owner deleted it); false when it was already gone. */
  delete(id: string): Promise<boolean>;
}

/** The reference implementation: a Map keyed by id, email unique. Tests and unit fakes. */
export function createMemoryUserRepository(): UserRepository {
  const rows = new Map<string, User>();
  const copy = (u: User | undefined) => (u ? { ...u } : undefined);
  return {
    async insert(user) {
      for (const u of rows.values()) if (u.email === user.email) return false;
      rows.set(user.id, { ...user });
      return true;
    },
    async findByEmail(email) {
      for (const u of rows.values()) if (u.email === email) return copy(u);
      return undefined;
    },
    async findById(id) {
      return copy(rows.get(id));
    },
    async countByStatus(status) {
      return [...rows.values()].filter((u) => u.status === status).length;
    },
    async list({ limit, offset }) {
      return [...rows.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).slice(offset, offset + limit).map((u) => ({ ...u }));
    },
    async disablePassword(id, at) {
      const current = rows.get(id);
      if (!current || current.passwordDisabledAt) return false;
      rows.set(id, { ...current, passwordDisabledAt: at, updatedAt: at });
      return true;
    },
    async update(id, changes) {
      const current = rows.get(id);
      if (!current) return undefined;
      const next = { ...current, ...changes };
      rows.set(id, next);
      return { ...next };
    },
    async delete(id) {
      return rows.delete(id);
    },
  };
}
