import type { AuditStore, AuditType, StoredAuditEvent } from '../observability/audit.js';
import type { Db } from './database.js';
import { execute } from './raw-sql.js';

export function createPrismaAuditStore(db: Db): AuditStore {
  return {
    // Hand-written SQL (raw-sql.ts): every refused sign-in appends one, so a sign-in flood writes as
    // many rows as it makes attempts. Read back below with the model query, which maps the same columns.
    async append(e) {
      await execute(
        db,
        'INSERT INTO audit_events (id, "at", "type", ip, user_agent, user_id, email, client_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        e.id,
        e.at,
        e.type,
        e.ip,
        e.userAgent,
        e.userId,
        e.email,
        e.clientId,
        JSON.stringify(e.detail),
      );
    },
    async query(filter) {
      const rows = await db.auditEvent.findMany({
        where: {
          ...(filter.email ? { email: filter.email } : {}),
          ...(filter.type ? { type: filter.type } : {}),
          ...(filter.since ? { at: { gte: filter.since } } : {}),
        },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: filter.limit,
      });
      return rows.map(
        (r): StoredAuditEvent => ({ ...r, type: r.type as AuditType, detail: JSON.parse(r.detail) as Record<string, unknown> }),
      );
    },
  };
}
