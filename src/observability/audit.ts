import type { Clock } from '../lib/clock.js';
import { orderedId } from '../lib/random.js';
import type { Logger } from './logger.js';

/**
 * The audit log: who did what, when (UTC) and from where, in the database (queried by
 * `gatehouse audit`) and in the log. A closed set of event names; never a password, token or secret.
 */
export const AUDIT_TYPES = [
  'login.succeeded',
  'login.failed',
  'login.throttled',
  'user.created',
  'user.locked',
  'user.unlocked',
  'user.banned',
  'user.unbanned',
  'user.signed_out',
  'user.password_disabled',
  'ip.banned',
  'ip.unbanned',
  'ip.blocked',
  'signup.requested',
  'email.verified',
  'email.verification_resent',
  'password.reset_requested',
  'password.reset',
  'password.changed',
  'email.change_requested',
  'email.changed',
  'session.ended',
  'app.disconnected',
  'account.signed_out_everywhere',
  'account.deleted',
  'consent.granted',
  'consent.denied',
  'logout',
  'refresh.reuse_detected',
  'authorization_code.reuse_detected',
  'access_token.revoked',
  'client.created',
  'client.updated',
  'client.secret_rotated',
  'client.deleted',
  'client_auth.failed',
  'resource.created',
  'resource.updated',
  'resource.deleted',
  'keys.created',
  'keys.rotated',
  'keys.revoked',
  'keys.pruned',
  'database.backed_up',
  'mfa.totp_enabled',
  'mfa.totp_disabled',
  'mfa.succeeded',
  'mfa.failed',
  'mfa.throttled',
  'mfa.recovery_used',
  'mfa.recovery_regenerated',
  'mfa.reset',
  'passkey.registered',
  'passkey.renamed',
  'passkey.removed',
  'passkey.counter_rollback',
  'passkey.reset',
] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

export interface AuditEvent {
  type: AuditType;
  ip?: string | null;
  userAgent?: string | null;
  userId?: string | null;
  email?: string | null;
  clientId?: string | null;
  detail?: Record<string, unknown>;
}

export interface StoredAuditEvent extends Required<Omit<AuditEvent, 'detail'>> {
  id: string;
  at: Date;
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  email?: string;
  type?: string;
  since?: Date;
  limit: number;
}

export interface AuditStore {
  append(event: StoredAuditEvent): Promise<void>;
  /** Newest first. */
  query(filter: AuditFilter): Promise<StoredAuditEvent[]>;
}

export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
}

export function createAuditLog(store: AuditStore, logger: Logger, clock: Clock): AuditLog {
  return {
    async record(event) {
      const at = clock.now();
      const stored: StoredAuditEvent = {
        id: orderedId(at.getTime()),
        at,
        type: event.type,
        ip: event.ip ?? null,
        userAgent: event.userAgent?.slice(0, 300) ?? null,
        userId: event.userId ?? null,
        email: event.email ?? null,
        clientId: event.clientId ?? null,
        detail: event.detail ?? {},
      };
      logger.info({ audit: { ...stored, at: stored.at.toISOString() } }, `audit ${event.type}`);
      await store.append(stored);
    },
  };
}

export function createMemoryAuditStore(): AuditStore & { events: StoredAuditEvent[] } {
  const events: StoredAuditEvent[] = [];
  return {
    events,
    async append(event) {
      events.push(event);
    },
    async query(filter) {
      return events
        .filter((e) => (!filter.email || e.email === filter.email) && (!filter.type || e.type === filter.type) && (!filter.since || e.at >= filter.since))
        .sort((a, b) => b.at.getTime() - a.at.getTime() || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0))
        .slice(0, filter.limit);
    },
  };
}
