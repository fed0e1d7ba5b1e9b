import pg from 'pg';
import { sqlite3, type GatehouseDeployment } from '../helpers/gatehouse-process.ts';

/** What the database holds, read by a reader that is not Gatehouse (the sqlite3 shell, or pg). */
export interface DatabaseSnapshot {
  users: Map<string, { status: string; verified: boolean }>;
  /** login.succeeded audit events per email. */
  logins: Map<string, number>;
  clients: Set<string>;
  resources: Set<string>;
  ipBans: Set<string>;
  /** Every stored refresh token: the SHA-256 of its value (base64url), its grant, consumed or not. */
  refreshTokens: { id: string; grantId: string | null; consumed: boolean }[];
  /** SQLite's `PRAGMA integrity_check` ("ok"), null on PostgreSQL. */
  integrity: string | null;
}

const QUERIES = {
  users: 'SELECT email, status, email_verified_at IS NOT NULL AS verified FROM users',
  logins: "SELECT email, count(*) AS n FROM audit_events WHERE type = 'login.succeeded' GROUP BY email",
  clients: 'SELECT id FROM clients',
  resources: 'SELECT audience FROM resources',
  ipBans: 'SELECT cidr FROM ip_bans',
  refreshTokens: "SELECT id, grant_id, consumed_at IS NOT NULL AS consumed FROM oidc_payloads WHERE model = 'RefreshToken'",
} as const;

type Row = Record<string, unknown>;

export async function readDatabase(gh: GatehouseDeployment): Promise<DatabaseSnapshot> {
  const rows: Record<keyof typeof QUERIES, Row[]> = {} as never;
  let integrity: string | null = null;
  if (gh.kind === 'sqlite') {
    const file = gh.databaseUrl.replace(/^file:/, '');
    await Promise.all(
      Object.entries(QUERIES).map(async ([name, sql]) => {
        rows[name as keyof typeof QUERIES] = await sqliteJson(file, sql);
      }),
    );
    integrity = (await sqliteJson(file, 'PRAGMA integrity_check')).map((r) => String(r.integrity_check)).join('; ');
  } else {
    const client = new pg.Client({ connectionString: gh.databaseUrl });
    await client.connect();
    try {
      for (const [name, sql] of Object.entries(QUERIES)) rows[name as keyof typeof QUERIES] = (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }
  const truthy = (v: unknown) => v === true || v === 1 || v === '1' || v === 't';
  return {
    users: new Map(rows.users.map((r) => [String(r.email), { status: String(r.status), verified: truthy(r.verified) }])),
    logins: new Map(rows.logins.map((r) => [String(r.email), Number(r.n)])),
    clients: new Set(rows.clients.map((r) => String(r.id))),
    resources: new Set(rows.resources.map((r) => String(r.audience))),
    ipBans: new Set(rows.ipBans.map((r) => String(r.cidr))),
    refreshTokens: rows.refreshTokens.map((r) => ({ id: String(r.id), grantId: r.grant_id == null ? null : String(r.grant_id), consumed: truthy(r.consumed) })),
    integrity,
  };
}

/** The sqlite3 shell (Debian's package) in JSON mode, read-only: it never writes the database. */
async function sqliteJson(file: string, sql: string): Promise<Row[]> {
  const out = await sqlite3(file, sql, ['-json', '-readonly']);
  return out === '' ? [] : (JSON.parse(out) as Row[]);
}
