import { badRequest, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import { sha256 } from '../lib/digest.js';
import { randomToken } from '../lib/random.js';
import type { AuditLog } from '../observability/audit.js';
import { GRANTS, type ClientRecord, type ClientRepository, type GrantType, type ResourceRepository } from './records.js';
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
  created_at: string;
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
    created_at: c.createdAt.toISOString(),
  };
}

/**
 * Registers a client. The secret (256 bits) is returned once and only its SHA-256 is stored: it is
 * random and long, so a fast hash is enough (RFC 6819 §5.1.4.1.3), and every token request stays
 * cheap. Everything is validated before anything is written.
 */
export async function createClient(deps: ClientDeps, input: CreateClientInput): Promise<ClientView & { client_secret?: string }> {
  const name = input.name?.trim();
  if (!name) throw badRequest('name: a client needs a name');
  if (name.length > 200) throw badRequest('name: at most 200 characters');

  const redirects = (input.redirectUris ?? []).map((u, i) => parseRedirectUri(u, `redirect_uri #${i + 1}`));
  const logoutRedirects = (input.postLogoutRedirectUris ?? []).map((u, i) => parseRedirectUri(u, `post_logout_redirect_uri #${i + 1}`));
  const isPublic = Boolean(input.public);

  const grants = [...new Set(input.grants && input.grants.length > 0 ? input.grants : defaultGrants(redirects.length > 0))];
  for (const g of grants) {
    if (!GRANTS.includes(g as GrantType)) throw badRequest(`grant: "${g}" is not one of ${GRANTS.join(', ')}`);
  }
  const grantTypes = grants as GrantType[];
  if (grantTypes.includes('authorization_code') && redirects.length === 0) {
    throw badRequest('redirect_uri: authorization_code needs at least one --redirect-uri');
  }
  if (!grantTypes.includes('authorization_code') && redirects.length > 0) {
    throw badRequest('redirect_uri: only clients with the authorization_code grant redirect');
  }
  if (grantTypes.includes('refresh_token') && !grantTypes.some((g) => g !== 'refresh_token' && g !== 'client_credentials')) {
    throw badRequest('grant: refresh_token comes with authorization_code or the device grant');
  }
  if (isPublic && grantTypes.includes('client_credentials')) {
    throw badRequest('grant: a public client cannot use client_credentials (it has no secret)');
  }

  const authMethod = isPublic ? 'none' : (input.authMethod ?? 'client_secret_basic');
  if (!['client_secret_basic', 'client_secret_post', 'none'].includes(authMethod) || (authMethod === 'none') !== isPublic) {
    throw badRequest('auth_method: confidential clients use client_secret_basic or client_secret_post; public clients use --public');
  }

  const scope = input.scope === undefined ? null : parseScopes(input.scope, 'scope').join(' ') || null;
  const interactive = grantTypes.some((g) => g === 'authorization_code' || g === 'urn:ietf:params:oauth:grant-type:device_code');
  if (scope !== null && interactive && !scope.split(' ').includes('openid')) {
    throw badRequest('scope: a client that signs people in needs openid in --scope (e.g. "openid email offline_access …")');
  }
  const resources = [...new Set((input.resources ?? []).map((r) => parseAudience(r, 'resource')))];
  for (const audience of resources) {
    if (!(await deps.resources.find(audience))) throw badRequest(`resource: no API with audience ${audience}; create it first (gatehouse resources create)`);
  }
  const introspects = [...new Set((input.introspects ?? []).map((r) => parseAudience(r, 'introspect')))];
  if (introspects.length > 0 && isPublic) {
    throw badRequest('introspect: a public client cannot introspect tokens for an API (it has no secret)');
  }
  for (const audience of introspects) {
    if (!(await deps.resources.find(audience))) throw badRequest(`introspect: no API with audience ${audience}; create it first (gatehouse resources create)`);
  }
  if (grantTypes.includes('client_credentials') && resources.length === 0) {
    throw badRequest('resource: client_credentials needs --resource (the API its tokens are for)');
  }

  const secret = isPublic ? undefined : randomToken(32);
  const now = deps.clock.now();
  const record: ClientRecord = {
    id: clientId(),
    name,
    secretHash: secret ? sha256(secret) : null,
    authMethod: authMethod as ClientRecord['authMethod'],
    redirectUris: redirects.map((r) => r.uri),
    postLogoutRedirectUris: logoutRedirects.map((r) => r.uri),
    grants: grantTypes,
    scope,
    resources,
    introspects,
    createdAt: now,
    updatedAt: now,
  };
  await deps.atomically(async () => {
    await deps.clients.insert(record);
    await deps.audit.record({ type: 'client.created', clientId: record.id, detail: { name, grants: grantTypes, resources } });
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

