import type { AuditStore, AuditType, StoredAuditEvent } from '../observability/audit.js';
import type { Db } from './database.js';

export function createPrismaAuditStore(db: Db): AuditStore {
  return {
    async append(e) {
      await db.auditEvent.create({
        data: {
          id: e.id,
          at: e.at,
          type: e.type,
          ip: e.ip,
          userAgent: e.userAgent,
          userId: e.userId,
          email: e.email,
          clientId: e.clientId,
          detail: JSON.stringify(e.detail),
        },
      });
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
