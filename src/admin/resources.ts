import { badRequest, conflict, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { AuditLog } from '../observability/audit.js';
import type { ClientRepository, ResourceRecord, ResourceRepository } from './records.js';
import { parseAudience, parseScopes } from './validate.js';

export interface ResourceView {
  audience: string;
  scopes: string[];
  access_token_ttl: number | null;
  created_at: string;
}

export interface ResourceDeps {
  resources: ResourceRepository;
  clients: ClientRepository;
  audit: AuditLog;
  clock: Clock;
  /** Where a use case's writes commit together (the operation and its audit row). */
  atomically: UnitOfWork;
}

export function resourceView(r: ResourceRecord): ResourceView {
  return { audience: r.audience, scopes: r.scopes, access_token_ttl: r.accessTokenTtl, created_at: r.createdAt.toISOString() };
}

/** Registers an API: its audience (the `aud` of its tokens), the scopes it understands, a token TTL. */
export async function createResource(
  deps: ResourceDeps,
  input: { audience: string; scope?: string; ttl?: number },
): Promise<ResourceView> {
  const audience = parseAudience(input.audience ?? '');
  const scopes = parseScopes(input.scope ?? '', 'scope');
  if (scopes.includes('openid') || scopes.includes('offline_access')) {
    throw badRequest('scope: openid and offline_access are OpenID Connect scopes, not API scopes');
  }
  if (input.ttl !== undefined && (!Number.isInteger(input.ttl) || input.ttl < 30 || input.ttl > 86400)) {
    throw badRequest('ttl: must be whole seconds from 30 to 86400');
  }
  const record: ResourceRecord = { audience, scopes, accessTokenTtl: input.ttl ?? null, createdAt: deps.clock.now() };
  await deps.atomically(async () => {
    if (!(await deps.resources.insert(record))) throw conflict(`an API with audience ${audience} already exists`);
    await deps.audit.record({ type: 'resource.created', detail: { audience, scopes } });
  });
  return resourceView(record);
}

export async function listResources(deps: Pick<ResourceDeps, 'resources'>): Promise<ResourceView[]> {
  return (await deps.resources.list()).map(resourceView);
}

/** Refuses while a client still lists the API (its tokens would fail with invalid_target). */
export async function deleteResource(deps: ResourceDeps, audience: string): Promise<{ audience: string; deleted: true }> {
  await deps.atomically(async () => {
    const users = await deps.clients.usingResource(audience);
    if (users.length > 0) throw conflict(`clients still use ${audience}: ${users.join(', ')}; delete them first`);
    if (!(await deps.resources.delete(audience))) throw notFound(`no API with audience ${audience}`);
    await deps.audit.record({ type: 'resource.deleted', detail: { audience } });
  });
  return { audience, deleted: true };
}
