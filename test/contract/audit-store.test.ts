import t from 'tap';
import { createAuditLog, createMemoryAuditStore } from '../../src/observability/audit.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { steppableClock, FIXED_START } from '../helpers/clock.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { databaseServices } from '../helpers/stores.ts';

/**
 * The audit store on SQLite and PostgreSQL: an event is appended with hand-written SQL and read back
 * with the model query, so every column (the instant to the millisecond, nulls, the JSON detail,
 * text that SQL would mind) must come back as the memory store keeps it.
 */
for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: what is appended reads back exactly, newest first, filtered`, async (t) => {
    const clock = steppableClock(FIXED_START);
    const s = await databaseServices(t, kind, clock);
    const memory = createMemoryAuditStore();
    const logs = [createAuditLog(s.auditStore, createLogger('silent'), clock), createAuditLog(memory, createLogger('silent'), clock)];
    const events = [
      { type: 'login.failed', ip: '203.0.113.7', userAgent: "O'Reilly \"agent\"; DROP TABLE audit_events; --", email: 'ann@example.com', detail: { reason: 'wrong_password', n: 3, nested: { ok: true } } },
      { type: 'login.succeeded', userId: 'u_1', email: 'ann@example.com', clientId: 'web', detail: {} },
      { type: 'keys.created', detail: { kid: 'k1', note: 'ümlaut ✓' } },
    ] as const;
    for (const e of events) {
      clock.advance(61.234);
      for (const log of logs) await log.record(e);
    }
    const stored = await s.auditStore.query({ limit: 10 });
    t.equal(stored.length, 3);
    // The ids are made from the clock and random bits: compare everything else with the memory store.
    const strip = <T extends { id: string }>(rows: T[]) => rows.map(({ id: _id, ...rest }) => rest);
    t.same(strip(stored), strip([...memory.events].reverse()), 'every column, newest first');
    t.ok(stored.every((r) => r.at instanceof Date), 'instants come back as dates');
    t.equal(stored[2]!.at.getTime(), FIXED_START.getTime() + 61_234, 'to the millisecond');
    t.same(strip(await s.auditStore.query({ email: 'ann@example.com', type: 'login.failed', limit: 10 })), strip([memory.events[0]!]), 'filtered by email and type');
    t.same(await s.auditStore.query({ since: new Date(FIXED_START.getTime() + 3 * 61_234), limit: 10 }).then((r) => r.map((e) => e.type)), ['keys.created'], 'since');
  });
}
