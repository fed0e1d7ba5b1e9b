import type { Clock } from '../../lib/clock.js';
import type { AuditLog } from '../../observability/audit.js';
import type { UserRepository } from '../users.js';
import type { PasskeyStore } from './passkey-store.js';
import type { RelyingParty } from './relying-party.js';

/** What the passkey use cases are given. */
export interface PasskeyDeps {
  store: PasskeyStore;
  users: UserRepository;
  audit: AuditLog;
  clock: Clock;
  rp: RelyingParty;
}

/** How long a challenge can be answered: the browser's own timeout (WebAuthn `timeout`) plus a little. */
export const CHALLENGE_TTL_SECONDS = 300;
export const CEREMONY_TIMEOUT_MS = 240_000;
/** Longest name a person may give a passkey. */
export const NAME_MAX = 60;
