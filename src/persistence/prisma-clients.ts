import type { ClientAuthMethod, ClientRecord, ClientRepository, GrantType, ResourceRecord, ResourceRepository } from '../admin/records.js';
import type { Db } from './database.js';
import type { Client as ClientRow } from './generated/sqlite/client.js';
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

function toRecord(row: ClientRow): ClientRecord {
  const m = JSON.parse(row.metadata) as StoredMetadata;
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secretHash,
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

export function createPrismaClientRepository(db: Db): ClientRepository {
  return {
    async insert(c) {
      const metadata: StoredMetadata = {
        token_endpoint_auth_method: c.authMethod,
        redirect_uris: c.redirectUris,
        post_logout_redirect_uris: c.postLogoutRedirectUris,
        grant_types: c.grants,
        scope: c.scope,
        introspects: c.introspects,
      };
      await db.client.create({
        data: {
          id: c.id,
          name: c.name,
          secretHash: c.secretHash,
          metadata: JSON.stringify(metadata),
          resources: JSON.stringify(c.resources),
          createdAt: c.createdAt,
          updatedAt: c.updatedAt,
        },
      });
    },
    async findById(id) {
      const row = await db.client.findUnique({ where: { id } });
      return row ? toRecord(row) : undefined;
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
  const toRecord = (row: { audience: string; scopes: string; accessTokenTtl: number | null; createdAt: Date }): ResourceRecord => ({
    audience: row.audience,
    scopes: row.scopes.split(' ').filter(Boolean),
    accessTokenTtl: row.accessTokenTtl,
    createdAt: row.createdAt,
  });
  return {
    async insert(r) {
      try {
        await db.resource.create({ data: { audience: r.audience, scopes: r.scopes.join(' '), accessTokenTtl: r.accessTokenTtl, createdAt: r.createdAt } });
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
    async delete(audience) {
      const { count } = await db.resource.deleteMany({ where: { audience } });
      return count > 0;
    },
  };
}
