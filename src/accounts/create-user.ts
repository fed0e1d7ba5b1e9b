import { conflict } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { AuditLog } from '../observability/audit.js';
import { normalizeEmail, normalizePassword } from './normalize.js';
import { assertAcceptablePassword } from './password-policy.js';
import type { PasswordHasher } from './password-hasher.js';
import { newUser, type User, type UserRepository } from './users.js';

export interface CreateUserDeps {
  users: UserRepository;
  hasher: PasswordHasher;
  audit: AuditLog;
  clock: Clock;
  /** Where a use case's writes commit together (the operation and its audit row). */
  atomically: UnitOfWork;
}

/** An operator creates an account directly (`gatehouse users create`); no default accounts exist. */
export async function createUser(
  deps: CreateUserDeps,
  input: { email: string; password: string; verified: boolean },
): Promise<User> {
  const email = normalizeEmail(input.email);
  assertAcceptablePassword(input.password, { email });
  const now = deps.clock.now();
  const passwordHash = await deps.hasher.hash(normalizePassword(input.password));
  const user = newUser({ email, passwordHash, now, emailVerifiedAt: input.verified ? now : null });
  await deps.atomically(async () => {
    if (!(await deps.users.insert(user))) throw conflict(`a user with email ${email} already exists`);
    await deps.audit.record({ type: 'user.created', userId: user.id, email, detail: { verified: input.verified, by: 'operator' } });
  });
  return user;
}
