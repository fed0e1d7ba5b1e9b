import { badRequest, conflict, FieldError, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { AuditLog } from '../observability/audit.js';
import { ADMIN_SCOPE } from './admin-resource.js';
import type { ClientRepository, ResourceChanges, ResourceRecord, ResourceRepository } from '../clients/records.js';
import { parseAudience, parseScopes } from './validate.js';

export interface ResourceView {
  audience: string;
  scopes: string[];
  access_token_ttl: number | null;
  description: string | null;
  scope_descriptions: Record<string, string>;
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
  return {
    audience: r.audience,
    scopes: r.scopes,
    access_token_ttl: r.accessTokenTtl,
    description: r.description,
    scope_descriptions: r.scopeDescriptions,
    created_at: r.createdAt.toISOString(),
  };
}

/** The rules for an API's scopes, the same at creation and at every change. */
function checkScopes(text: string): string[] {
  const scopes = parseScopes(text, 'scope');
  if (scopes.includes('openid') || scopes.includes('offline_access')) {
    throw new FieldError('scope', 'oidc_scope', 'openid and offline_access are OpenID Connect scopes, not API scopes');
  }
  return scopes;
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 30 || ttl > 86400) throw new FieldError('ttl', 'out_of_range', 'must be whole seconds from 30 to 86400');
  return ttl;
}

/** What the API is, in words people read on the consent page: one line of printable text; empty means none. */
function checkDescription(text: string, field = 'description', max = 500): string | null {
  const value = text.trim();
  if (value.length > max) throw new FieldError(field, 'too_long', `at most ${max} characters`);
  if (/\p{Cc}/u.test(value)) throw new FieldError(field, 'control_characters', 'must be one line of text (no control characters)');
  return value || null;
}

/**
 * Per-scope words, merged into `current`: each key must be one of the API's scopes; an empty text
 * removes that scope's words. Words of scopes the API no longer has are dropped.
 */
function mergeScopeDescriptions(current: Record<string, string>, given: Record<string, string> | undefined, scopes: readonly string[]): Record<string, string> {
  const next: Record<string, string> = {};
  for (const [scope, text] of Object.entries(current)) if (scopes.includes(scope)) next[scope] = text;
  for (const [scope, text] of Object.entries(given ?? {})) {
    if (!scopes.includes(scope)) throw new FieldError('scope_descriptions', 'unknown_scope', `${scope} is not one of the API's scopes`);
    const value = checkDescription(text, 'scope_descriptions', 200);
    if (value === null) delete next[scope];
    else next[scope] = value;
  }
  return next;
}

/** `scope=words` (the CLI's repeatable --scope-description) as a map. */
export function parseScopeDescriptions(entries: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new FieldError('scope_descriptions', 'malformed', `"${entry}" is not scope=words, e.g. "orders:read=See your orders"`);
    map[entry.slice(0, eq).trim()] = entry.slice(eq + 1);
  }
  return map;
}

/** Registers an API: its audience (the `aud` of its tokens), the scopes it understands, a token TTL. */
export async function createResource(
  deps: ResourceDeps,
  input: { audience: string; scope?: string; ttl?: number; description?: string; scopeDescriptions?: Record<string, string> },
): Promise<ResourceView> {
  const audience = parseAudience(input.audience ?? '');
  const scopes = checkScopes(input.scope ?? '');
  const accessTokenTtl = input.ttl === undefined ? null : checkTtl(input.ttl);
  const description = input.description === undefined ? null : checkDescription(input.description);
  const scopeDescriptions = mergeScopeDescriptions({}, input.scopeDescriptions, scopes);
  const record: ResourceRecord = { audience, scopes, accessTokenTtl, description, scopeDescriptions, createdAt: deps.clock.now() };
  await deps.atomically(async () => {
    if (!(await deps.resources.insert(record))) throw conflict(`an API with audience ${audience} already exists`);
    await deps.audit.record({ type: 'resource.created', detail: { audience, scopes } });
  });
  return resourceView(record);
}

export interface UpdateResourceInput {
  scope?: string;
  /** Seconds; null = back to ACCESS_TOKEN_TTL. */
  ttl?: number | null;
  /** Empty or null = none. */
  description?: string | null;
  /** Merged into the current words; an empty text removes a scope's words. */
  scopeDescriptions?: Record<string, string>;
}

/**
 * Changes the given fields of an API and keeps the rest, with the rules of `createResource`. Running
 * instances cache API definitions (5 s), so a change reaches each of them within that delay.
 */
export async function updateResource(deps: ResourceDeps, audience: string, input: UpdateResourceInput): Promise<ResourceView & { changed: string[] }> {
  if (input.scope === undefined && input.ttl === undefined && input.description === undefined && input.scopeDescriptions === undefined) {
    throw badRequest('nothing to change: give at least one of scope, ttl, description, scope_descriptions');
  }
  const changes: ResourceChanges = {
    ...(input.scope !== undefined ? { scopes: checkScopes(input.scope) } : {}),
    ...(input.ttl !== undefined ? { accessTokenTtl: input.ttl === null ? null : checkTtl(input.ttl) } : {}),
    ...(input.description !== undefined ? { description: input.description === null ? null : checkDescription(input.description) } : {}),
  };
  return deps.atomically(async () => {
    const current = await deps.resources.find(audience);
    if (!current) throw notFound(`no API with audience ${audience}`);
    // The admin API's own scope: without it no token could administer Gatehouse any more.
    if (changes.scopes && current.scopes.includes(ADMIN_SCOPE) && !changes.scopes.includes(ADMIN_SCOPE)) {
      throw new FieldError('scope', 'admin_scope_required', `${audience} must keep ${ADMIN_SCOPE} (the admin API's scope)`);
    }
    if (changes.scopes || input.scopeDescriptions) {
      changes.scopeDescriptions = mergeScopeDescriptions(current.scopeDescriptions, input.scopeDescriptions, changes.scopes ?? current.scopes);
    }
    const changed = (Object.keys(changes) as (keyof ResourceChanges)[])
      .filter((k) => JSON.stringify(changes[k]) !== JSON.stringify(current[k]))
      .map((k) => FIELD_NAMES[k]);
    const next: ResourceRecord = { ...current, ...changes };
    if (changed.length === 0) return { ...resourceView(current), changed };
    if (!(await deps.resources.update(audience, changes))) throw notFound(`no API with audience ${audience}`);
    await deps.audit.record({ type: 'resource.updated', detail: { audience, changed } });
    return { ...resourceView(next), changed };
  });
}

const FIELD_NAMES = { scopes: 'scope', accessTokenTtl: 'ttl', description: 'description', scopeDescriptions: 'scope_descriptions' } as const satisfies Record<keyof ResourceChanges, string>;

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
