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

export interface UserRepository {
  /** False when the email is taken (the unique index decides, not a prior read). */
  insert(user: User): Promise<boolean>;
  findByEmail(email: string): Promise<User | undefined>;
  findById(id: string): Promise<User | undefined>;
  list(options: { limit: number; offset: number }): Promise<User[]>;
  update(id: string, changes: Partial<Omit<User, 'id' | 'createdAt'>>): Promise<User | undefined>;
}
