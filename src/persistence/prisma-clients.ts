import type { ClientAuthMethod, ClientRecord, ClientRepository, GrantType, ResourceRecord, ResourceRepository } from '../clients/records.js';
import type { DatabaseKind } from '../config/schema.js';
import type { Db } from './database.js';
import type { Client as ClientRow } from './generated/sqlite/client.js';
import { select } from './raw-sql.js';
import { isUniqueViolation } from './unique-violation.js';

type StoredMetadata = {
  token_endpoint_auth_method: ClientAuthMethod;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: GrantType[];
  scope: string | null;
  /** Absent in rows written before the introspection policy: no audience. */
  introspects?: string[];
};

/** The columns of `clients` as a raw SELECT returns them (the model's fields, by their column names). */
type RawClientRow = {
  id: string;
  name: string;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  previous_secret_expires_at: Date | null;
  metadata: string;
  resources: string;
  created_at: Date;
  updated_at: Date;
};
const CLIENT_COLUMNS = 'id, name, secret_hash, previous_secret_hash, previous_secret_expires_at, metadata, resources, created_at, updated_at';
const fromRaw = (r: RawClientRow): ClientRow => ({
  id: r.id,
  name: r.name,
  secretHash: r.secret_hash,
  previousSecretHash: r.previous_secret_hash,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  metadata: r.metadata,
  resources: r.resources,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

function toRecord(row: ClientRow): ClientRecord {
  const m = JSON.parse(row.metadata) as StoredMetadata;
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secretHash,
    previousSecretHash: row.previousSecretHash,
    previousSecretExpiresAt: row.previousSecretExpiresAt,
    authMethod: m.token_endpoint_auth_method,
    redirectUris: m.redirect_uris,
    postLogoutRedirectUris: m.post_logout_redirect_uris,
    grants: m.grant_types,
    scope: m.scope,
    resources: JSON.parse(row.resources) as string[],
    introspects: m.introspects ?? [],
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The columns of a client, every one but the id and the creation time. */
function toColumns(c: ClientRecord) {
  const metadata: StoredMetadata = {
    token_endpoint_auth_method: c.authMethod,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grants,
    scope: c.scope,
    introspects: c.introspects,
  };
  return {
    name: c.name,
    secretHash: c.secretHash,
    previousSecretHash: c.previousSecretHash,
    previousSecretExpiresAt: c.previousSecretExpiresAt,
    metadata: JSON.stringify(metadata),
    resources: JSON.stringify(c.resources),
    updatedAt: c.updatedAt,
  };
}

export function createPrismaClientRepository(db: Db, kind: DatabaseKind): ClientRepository {
  return {
    async insert(c) {
      await db.client.create({ data: { id: c.id, createdAt: c.createdAt, ...toColumns(c) } });
    },
    async findForUpdate(id) {
      // SQLite: a unit of work holds the write lock from its start (BEGIN IMMEDIATE) already.
      // PostgreSQL (READ COMMITTED): lock the row, so a concurrent change waits for this one to
      // commit and then reads what it wrote.
      if (kind === 'postgres') await db.$queryRaw`SELECT id FROM clients WHERE id = ${id} FOR UPDATE`;
      const row = await db.client.findUnique({ where: { id } });
      return row ? toRecord(row) : undefined;
    },
    async update(c) {
      const { count } = await db.client.updateMany({ where: { id: c.id }, data: toColumns(c) });
      return count > 0;
    },
    async findById(id) {
      // Every token request looks its client up: hand-written SQL (raw-sql.ts).
      const [row] = await select<RawClientRow>(db, `SELECT ${CLIENT_COLUMNS} FROM clients WHERE id = $1`, id);
      return row ? toRecord(fromRaw(row)) : undefined;
    },
    async list() {
      return (await db.client.findMany({ orderBy: { createdAt: 'asc' } })).map(toRecord);
    },
    async delete(id) {
      const { count } = await db.client.deleteMany({ where: { id } });
      return count > 0;
    },
    async usingResource(audience) {
      const needle = JSON.stringify(audience);
      const rows = await db.client.findMany({
        where: { OR: [{ resources: { contains: needle } }, { metadata: { contains: needle } }] },
        select: { id: true, resources: true, metadata: true },
      });
      const introspects = (metadata: string) => (JSON.parse(metadata) as StoredMetadata).introspects ?? [];
      return rows.filter((r) => (JSON.parse(r.resources) as string[]).includes(audience) || introspects(r.metadata).includes(audience)).map((r) => r.id);
    },
  };
}

export function createPrismaResourceRepository(db: Db): ResourceRepository {
  const toRecord = (row: { audience: string; scopes: string; accessTokenTtl: number | null; description: string | null; scopeDescriptions: string; createdAt: Date }): ResourceRecord => ({
    audience: row.audience,
    scopes: row.scopes.split(' ').filter(Boolean),
    accessTokenTtl: row.accessTokenTtl,
    description: row.description,
    scopeDescriptions: JSON.parse(row.scopeDescriptions) as Record<string, string>,
    createdAt: row.createdAt,
  });
  return {
    async insert(r) {
      try {
        await db.resource.create({
          data: {
            audience: r.audience,
            scopes: r.scopes.join(' '),
            accessTokenTtl: r.accessTokenTtl,
            description: r.description,
            scopeDescriptions: JSON.stringify(r.scopeDescriptions),
            createdAt: r.createdAt,
          },
        });
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async find(audience) {
      const row = await db.resource.findUnique({ where: { audience } });
      return row ? toRecord(row) : undefined;
    },
    async list() {
      return (await db.resource.findMany({ orderBy: { createdAt: 'asc' } })).map(toRecord);
    },
    async update(audience, changes) {
      const { count } = await db.resource.updateMany({
        where: { audience },
        data: {
          ...(changes.scopes !== undefined ? { scopes: changes.scopes.join(' ') } : {}),
          ...(changes.accessTokenTtl !== undefined ? { accessTokenTtl: changes.accessTokenTtl } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.scopeDescriptions !== undefined ? { scopeDescriptions: JSON.stringify(changes.scopeDescriptions) } : {}),
        },
      });
      return count > 0;
    },
    async delete(audience) {
      const { count } = await db.resource.deleteMany({ where: { audience } });
      return count > 0;
    },
  };
}
