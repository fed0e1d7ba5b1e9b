import { normalizeEmail } from '../accounts/normalize.js';
import { FieldError } from '../errors.js';
import { AUDIT_TYPES, type AuditStore } from '../observability/audit.js';

export interface AuditQuery {
  user?: string;
  type?: string;
  since?: string;
  limit?: number;
}

/** `gatehouse audit` and GET /admin/audit: newest first, in the contract's shape. */
export async function queryAudit(store: AuditStore, q: AuditQuery) {
  const limit = q.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new FieldError('limit', 'out_of_range', 'must be 1 to 10000');
  if (q.type && !(AUDIT_TYPES as readonly string[]).includes(q.type)) throw new FieldError('type', 'unknown', `unknown event type "${q.type}"`);
  let since: Date | undefined;
  if (q.since) {
    since = new Date(q.since);
    if (Number.isNaN(since.getTime())) throw new FieldError('since', 'not_a_date', 'must be an ISO date such as 2026-01-31T00:00:00Z');
  }
  const events = await store.query({ ...(q.user ? { email: normalizeEmail(q.user) } : {}), ...(q.type ? { type: q.type } : {}), ...(since ? { since } : {}), limit });
  return events.map((e) => ({
    at: e.at.toISOString(),
    type: e.type,
    ip: e.ip,
    user_agent: e.userAgent,
    ...(e.email ? { email: e.email } : {}),
    ...(e.clientId ? { client_id: e.clientId } : {}),
    ...(e.userId ? { user_id: e.userId } : {}),
    detail: e.detail,
  }));
}
