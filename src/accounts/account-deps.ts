import type { BackgroundTasks } from '../lib/background-tasks.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { AuditLog } from '../observability/audit.js';
import type { MailWriter } from './mail-messages.js';
import type { Mailer } from './mailer.js';
import type { OneTimeTokenStore } from './one-time-tokens.js';
import type { PasswordHasher } from './password-hasher.js';
import type { UserRepository } from './users.js';

/** What the self-service account use cases (signup, verification, reset) are given; never import it. */
export interface AccountDeps {
  users: UserRepository;
  hasher: PasswordHasher;
  tokens: OneTimeTokenStore;
  mailer: Mailer;
  /** Puts a mail into words and templates (rendering/presentation.ts); absent: the built-in English ones. */
  mails?: MailWriter;
  /** Where mail and token work goes so that it never delays, or shows in, the answer. */
  background: Pick<BackgroundTasks, 'run'>;
  audit: AuditLog;
  clock: Clock;
  /** Where a use case's writes commit together (the operation and its audit row). */
  atomically: UnitOfWork;
  /** Public base URL: mail links start with it. */
  issuer: string;
  /** Ends every session, grant and token of an account (password reset, docs/security.md ASVS 7.4.3). */
  revokeSessions(userId: string): Promise<number>;
  /** Lifts the account's login lock (a password reset proves ownership). */
  unlockLogin(email: string): Promise<void>;
  /** Deletes every second factor of the account (its deletion); absent where there are none (unit fakes). */
  removeSecondFactors?(userId: string): Promise<void>;
  /** Deletes every passkey of an account (account deletion); absent where passkeys are not wired. */
  removePasskeys?(userId: string): Promise<number>;
}

/** Where a request came from, for the audit log (and, later, the guard). */
export interface RequestContext {
  ip?: string | null;
  userAgent?: string | null;
  /** The language of the page the request came from: mails it causes are written in it. */
  locale?: string;
}
