/** What the admin use cases, the CLI and the protocol engine share about clients and APIs. */
export const GRANTS = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
] as const;
export type GrantType = (typeof GRANTS)[number];

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface ClientRecord {
  id: string;
  name: string;
  /** SHA-256 (base64url) of the secret; null for public clients. */
  secretHash: string | null;
  /** SHA-256 of the secret the last rotation replaced, accepted until `previousSecretExpiresAt`;
   * null when the rotation ended it at once (or there was none). */
  previousSecretHash: string | null;
  previousSecretExpiresAt: Date | null;
  authMethod: ClientAuthMethod;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grants: GrantType[];
  /** Scopes the client may ask for; null = any scope of its APIs and the OIDC scopes. */
  scope: string | null;
  /** API audiences it may get tokens for; the first is its default. */
  resources: string[];
  /** API audiences whose access tokens this client (a resource server) may introspect; [] = only its own tokens. */
  introspects: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ResourceRecord {
  audience: string;
  scopes: string[];
  /** Seconds; null = ACCESS_TOKEN_TTL. */
  accessTokenTtl: number | null;
  /** What the API is, in words people understand (consent and account pages); null = none. */
  description: string | null;
  /** What each scope lets an app do, in words (consent and account pages); scopes without one show their name. */
  scopeDescriptions: Record<string, string>;
  createdAt: Date;
}

/** What `resources update` may change. */
export type ResourceChanges = Partial<Pick<ResourceRecord, 'scopes' | 'accessTokenTtl' | 'description' | 'scopeDescriptions'>>;

export interface ClientRepository {
  insert(client: ClientRecord): Promise<void>;
  findById(id: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  /**
   * Like findById, and inside a unit of work the client then stays locked against other writers
   * until the work commits: a read-change-write of a client (an update, a secret rotation) cannot
   * silently undo a concurrent one (an update writing back the secret a rotation just replaced).
   */
  findForUpdate(id: string): Promise<ClientRecord | undefined>;
  /** Writes every field of `client` but its id and creation time; false when there is no such client. */
  update(client: ClientRecord): Promise<boolean>;
  /** True when a client was deleted. */
  delete(id: string): Promise<boolean>;
  /** Clients allowed to get tokens for `audience`, or to introspect them. */
  usingResource(audience: string): Promise<string[]>;
}

export interface ResourceRepository {
  /** False when the audience already exists. */
  insert(resource: ResourceRecord): Promise<boolean>;
  find(audience: string): Promise<ResourceRecord | undefined>;
  list(): Promise<ResourceRecord[]>;
  /** Changes only the given fields; false when there is no such API. */
  update(audience: string, changes: ResourceChanges): Promise<boolean>;
  delete(audience: string): Promise<boolean>;
}
