import { badRequest, FieldError, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import { sha256 } from '../lib/digest.js';
import { randomToken } from '../lib/random.js';
import type { AuditLog } from '../observability/audit.js';
import { GRANTS, type ClientAuthMethod, type ClientRecord, type ClientRepository, type GrantType, type ResourceRepository } from '../clients/records.js';
import { parseAudience, parseRedirectUri, parseScopes } from './validate.js';

export interface CreateClientInput {
  name: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  grants?: string[];
  scope?: string;
  resources?: string[];
  /** API audiences whose tokens this client may introspect (a resource server's own client). */
  introspects?: string[];
  public?: boolean;
  authMethod?: string;
}

export interface ClientView {
  client_id: string;
  client_name: string;
  public: boolean;
  token_endpoint_auth_method: ClientRecord['authMethod'];
  grant_types: GrantType[];
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  scope: string | null;
  resources: string[];
  introspects: string[];
  /** Until when the secret replaced by the last rotation is still accepted; null when none is. */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ClientDeps {
  clients: ClientRepository;
  resources: ResourceRepository;
  audit: AuditLog;
  clock: Clock;
  /** Where a use case's writes commit together (the operation and its audit row). */
  atomically: UnitOfWork;
}

export function clientView(c: ClientRecord): ClientView {
  return {
    client_id: c.id,
    client_name: c.name,
    public: c.authMethod === 'none',
    token_endpoint_auth_method: c.authMethod,
    grant_types: c.grants,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    scope: c.scope,
    resources: c.resources,
    introspects: c.introspects,
    previous_secret_expires_at: c.previousSecretHash && c.previousSecretExpiresAt ? c.previousSecretExpiresAt.toISOString() : null,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

/** A client's fields once validated: what `createClient` and `updateClient` store. */
type CheckedClient = Pick<ClientRecord, 'name' | 'authMethod' | 'redirectUris' | 'postLogoutRedirectUris' | 'grants' | 'scope' | 'resources' | 'introspects'>;

/**
 * Every rule a client must satisfy, for a new one and for a changed one alike (the same input gets
 * the same error either way). Reads the APIs it names; writes nothing.
 */
async function checkClient(deps: Pick<ClientDeps, 'resources'>, input: CreateClientInput): Promise<CheckedClient> {
  const name = input.name?.trim();
  if (!name) throw new FieldError('name', 'missing', 'a client needs a name');
  if (name.length > 200) throw new FieldError('name', 'too_long', 'at most 200 characters');

  const redirects = (input.redirectUris ?? []).map((u, i) => parseRedirectUri(u, `redirect_uri #${i + 1}`));
  const logoutRedirects = (input.postLogoutRedirectUris ?? []).map((u, i) => parseRedirectUri(u, `post_logout_redirect_uri #${i + 1}`));
  const isPublic = Boolean(input.public);

  const grants = [...new Set(input.grants && input.grants.length > 0 ? input.grants : defaultGrants(redirects.length > 0))];
  for (const g of grants) {
    if (!GRANTS.includes(g as GrantType)) throw new FieldError('grant', 'unknown', `"${g}" is not one of ${GRANTS.join(', ')}`);
  }
  const grantTypes = grants as GrantType[];
  if (grantTypes.includes('authorization_code') && redirects.length === 0) {
    throw new FieldError('redirect_uri', 'missing', 'authorization_code needs at least one --redirect-uri');
  }
  if (!grantTypes.includes('authorization_code') && redirects.length > 0) {
    throw new FieldError('redirect_uri', 'not_allowed', 'only clients with the authorization_code grant redirect');
  }
  if (grantTypes.includes('refresh_token') && !grantTypes.some((g) => g !== 'refresh_token' && g !== 'client_credentials')) {
    throw new FieldError('grant', 'refresh_token_alone', 'refresh_token comes with authorization_code or the device grant');
  }
  if (isPublic && grantTypes.includes('client_credentials')) {
    throw new FieldError('grant', 'public_client_credentials', 'a public client cannot use client_credentials (it has no secret)');
  }

  const authMethod = isPublic ? 'none' : (input.authMethod ?? 'client_secret_basic');
  if (!['client_secret_basic', 'client_secret_post', 'none'].includes(authMethod) || (authMethod === 'none') !== isPublic) {
    throw new FieldError('auth_method', 'unsupported', 'confidential clients use client_secret_basic or client_secret_post; public clients use --public');
  }

  const scope = input.scope === undefined ? null : parseScopes(input.scope, 'scope').join(' ') || null;
  const interactive = grantTypes.some((g) => g === 'authorization_code' || g === 'urn:ietf:params:oauth:grant-type:device_code');
  if (scope !== null && interactive && !scope.split(' ').includes('openid')) {
    throw new FieldError('scope', 'openid_required', 'a client that signs people in needs openid in --scope (e.g. "openid email offline_access …")');
  }
  const resources = [...new Set((input.resources ?? []).map((r) => parseAudience(r, 'resource')))];
  for (const audience of resources) {
    if (!(await deps.resources.find(audience))) throw new FieldError('resource', 'unknown_api', `no API with audience ${audience}; create it first (gatehouse resources create)`);
  }
  const introspects = [...new Set((input.introspects ?? []).map((r) => parseAudience(r, 'introspect')))];
  if (introspects.length > 0 && isPublic) {
    throw new FieldError('introspect', 'public_client', 'a public client cannot introspect tokens for an API (it has no secret)');
  }
  for (const audience of introspects) {
    if (!(await deps.resources.find(audience))) throw new FieldError('introspect', 'unknown_api', `no API with audience ${audience}; create it first (gatehouse resources create)`);
  }
  if (grantTypes.includes('client_credentials') && resources.length === 0) {
    throw new FieldError('resource', 'missing', 'client_credentials needs --resource (the API its tokens are for)');
  }
  return {
    name,
    authMethod: authMethod as ClientAuthMethod,
    redirectUris: redirects.map((r) => r.uri),
    postLogoutRedirectUris: logoutRedirects.map((r) => r.uri),
    grants: grantTypes,
    scope,
    resources,
    introspects,
  };
}

/**
 * Registers a client. The secret (256 bits) is returned once and only its SHA-256 is stored: it is
 * random and long, so a fast hash is enough (RFC 6819 §5.1.4.1.3), and every token request stays
 * cheap. Everything is validated before anything is written.
 */
export async function createClient(deps: ClientDeps, input: CreateClientInput): Promise<ClientView & { client_secret?: string }> {
  const checked = await checkClient(deps, input);
  const secret = checked.authMethod === 'none' ? undefined : randomToken(32);
  const now = deps.clock.now();
  const record: ClientRecord = {
    id: clientId(),
    ...checked,
    secretHash: secret ? sha256(secret) : null,
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await deps.atomically(async () => {
    await deps.clients.insert(record);
    await deps.audit.record({ type: 'client.created', clientId: record.id, detail: { name: record.name, grants: record.grants, resources: record.resources } });
  });
  return { ...clientView(record), ...(secret ? { client_secret: secret } : {}) };
}

/** 128 random bits, base64url, never starting with '-' or '_' (it must read as an argument, not an
 * option, on a command line). */
function clientId(): string {
  for (;;) {
    const id = randomToken(16);
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

function defaultGrants(redirects: boolean): GrantType[] {
  return redirects ? ['authorization_code', 'refresh_token'] : ['client_credentials'];
}

export async function listClients(deps: Pick<ClientDeps, 'clients'>): Promise<ClientView[]> {
  return (await deps.clients.list()).map(clientView);
}

export async function showClient(deps: Pick<ClientDeps, 'clients'>, id: string): Promise<ClientView> {
  const client = await deps.clients.findById(id);
  if (!client) throw notFound(`no client with id ${id}`);
  return clientView(client);
}

/** Deleting a client ends its tokens' use at once: every request looks the client up. */
export async function deleteClient(deps: ClientDeps, id: string): Promise<{ client_id: string; deleted: true }> {
  await deps.atomically(async () => {
    if (!(await deps.clients.delete(id))) throw notFound(`no client with id ${id}`);
    await deps.audit.record({ type: 'client.deleted', clientId: id });
  });
  return { client_id: id, deleted: true };
}


/** What `clients update` may change; a list given replaces the whole list. */
export interface UpdateClientInput {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  scope?: string;
  resources?: string[];
}

/** The field names (as the admin API spells them) of UpdateClientInput. */
const UPDATABLE = {
  name: 'name',
  redirectUris: 'redirect_uris',
  postLogoutRedirectUris: 'post_logout_redirect_uris',
  scope: 'scope',
  resources: 'resources',
} as const satisfies Record<keyof UpdateClientInput, string>;

export const UPDATABLE_CLIENT_FIELDS: readonly string[] = Object.values(UPDATABLE);

/** The client was deleted between two statements of one change (only possible outside a unit of work). */
const vanished = (id: string) => notFound(`no client with id ${id}`);

/**
 * Changes the given fields of a client and keeps the rest; the result must pass every rule
 * `createClient` applies, with the same errors. Grants, type and secret stay as they are. Takes
 * effect at the client's next request: every request reads the client from the database.
 */
export async function updateClient(deps: ClientDeps, id: string, input: UpdateClientInput): Promise<ClientView & { changed: string[] }> {
  const given = (Object.keys(UPDATABLE) as (keyof UpdateClientInput)[]).filter((k) => input[k] !== undefined);
  if (given.length === 0) throw badRequest(`nothing to change: give at least one of ${UPDATABLE_CLIENT_FIELDS.join(', ')}`);
  return deps.atomically(async () => {
    const current = await deps.clients.findForUpdate(id);
    if (!current) throw notFound(`no client with id ${id}`);
    const checked = await checkClient(deps, {
      name: input.name ?? current.name,
      redirectUris: input.redirectUris ?? current.redirectUris,
      postLogoutRedirectUris: input.postLogoutRedirectUris ?? current.postLogoutRedirectUris,
      scope: input.scope ?? current.scope ?? undefined,
      resources: input.resources ?? current.resources,
      grants: current.grants,
      introspects: current.introspects,
      public: current.authMethod === 'none',
      authMethod: current.authMethod,
    });
    const changed = given.filter((k) => JSON.stringify(checked[k]) !== JSON.stringify(current[k])).map((k) => UPDATABLE[k]);
    if (changed.length === 0) return { ...clientView(current), changed };
    const next: ClientRecord = { ...current, ...checked, updatedAt: deps.clock.now() };
    if (!(await deps.clients.update(next))) throw vanished(id);
    await deps.audit.record({ type: 'client.updated', clientId: id, detail: { changed } });
    return { ...clientView(next), changed };
  });
}

/** How long a replaced secret keeps working by default: a day to roll the new one out. */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 86_400;
/** The longest overlap: an old secret must not live on indefinitely. */
export const MAX_SECRET_OVERLAP_SECONDS = 30 * 86_400;

export interface RotatedSecret {
  client_id: string;
  /** Shown once, like at creation. */
  client_secret: string;
  /** Until when the replaced secret is still accepted; null when it stopped at once (overlap 0). */
  previous_secret_expires_at: string | null;
}

/**
 * Gives a confidential client a new secret (256 bits, stored as SHA-256 like the first one). The
 * secret it replaces stays valid for `overlapSeconds` (0 ends it at once), so the app can be given
 * the new one without downtime. Only one old secret is kept: rotating again during an overlap ends
 * the older one at once, and the secret just replaced becomes the one in overlap.
 */
export async function rotateClientSecret(deps: ClientDeps, id: string, options: { overlapSeconds?: number } = {}): Promise<RotatedSecret> {
  const overlap = options.overlapSeconds ?? DEFAULT_SECRET_OVERLAP_SECONDS;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_SECRET_OVERLAP_SECONDS) {
    throw new FieldError('overlap', 'out_of_range', `must be from 0 (end the old secret now) to ${MAX_SECRET_OVERLAP_SECONDS / 86_400}d`);
  }
  return deps.atomically(async () => {
    const current = await deps.clients.findForUpdate(id);
    if (!current) throw notFound(`no client with id ${id}`);
    if (current.authMethod === 'none' || !current.secretHash) {
      throw badRequest(`client ${id} is a public client: it has no secret to rotate`);
    }
    const now = deps.clock.now();
    const secret = randomToken(32);
    const expiresAt = overlap > 0 ? new Date(now.getTime() + overlap * 1000) : null;
    // Was an older secret still in its overlap? It ends now: only the newest old secret is kept.
    const endedEarlier = current.previousSecretHash !== null && current.previousSecretExpiresAt !== null && current.previousSecretExpiresAt > now;
    const next: ClientRecord = {
      ...current,
      secretHash: sha256(secret),
      previousSecretHash: expiresAt ? current.secretHash : null,
      previousSecretExpiresAt: expiresAt,
      updatedAt: now,
    };
    if (!(await deps.clients.update(next))) throw vanished(id);
    await deps.audit.record({
      type: 'client.secret_rotated',
      clientId: id,
      detail: { overlap_seconds: overlap, previous_secret_expires_at: expiresAt?.toISOString() ?? null, ended_older_secret: endedEarlier },
    });
    return { client_id: id, client_secret: secret, previous_secret_expires_at: expiresAt?.toISOString() ?? null };
  });
}
