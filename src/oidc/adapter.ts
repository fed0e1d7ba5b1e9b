import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { ClientRecord } from '../clients/records.js';
import { coalesce } from '../lib/coalesce.js';
import { guarded } from './engine-errors.js';
import { activeHold } from './held-writes.js';
import { markGrantRevoked } from './revoked-grants.js';
import type { OidcPayload, OidcStore } from './oidc-store.js';

/** Where client metadata comes from (the clients table, through the admin repository). */
export type ClientMetadataSource = (clientId: string) => Promise<AdapterPayload | undefined>;

/** What oidc-provider's own sequential checks say, reused for the concurrent loser. */
const ALREADY_USED: Record<string, string> = {
  AuthorizationCode: 'authorization code already consumed',
  RefreshToken: 'refresh token already used',
  DeviceCode: 'device code already consumed',
};

/** No id, uid, user code or client id we store contains U+0000 (all come from safe alphabets), and
 * PostgreSQL cannot even compare text with one: a lookup for such a key finds nothing, without asking
 * the database (a client_id with a NUL was a 503, the database error taken for an outage). */
const unstorable = (key: string) => key.includes('\u0000');

/**
 * oidc-provider's adapter (7 methods) over the OidcStore port. `consume` is the store's atomic
 * conditional update: the loser of a race is told `invalid_grant`, and the grant it was racing for is
 * revoked — a code or refresh token used twice is treated as stolen (RFC 9700 §4.14, §2.2.2).
 * While a token grant runs with its writes held (held-writes.ts), the writes are recorded for its
 * one commit instead; the consume then happens, conditionally, in that commit.
 */
export function createAdapterFactory(store: OidcStore, clients: ClientMetadataSource) {
  // A grant is revoked by every loser of a race for one of its tokens, and oidc-provider revokes it with
  // one call per model side by side (the store deletes all of the grant's rows on each): ten losers made
  // fifty deletes of the same rows at once, which on PostgreSQL deadlocked one another and, on a busy
  // machine, held every pooled connection until requests timed out with a 503. Concurrent calls for one
  // grant (or one row) share a run; a call during a run gets the next one, so it still deletes what was
  // written before it asked.
  const revokeGrant = coalesce((grantId) => guarded(() => store.revokeByGrantId(grantId)));
  const destroyRow = coalesce((key) => {
    const at = key.indexOf(':');
    return guarded(() => store.destroy(key.slice(0, at), key.slice(at + 1)));
  });
  return class GatehouseAdapter implements Adapter {
    constructor(readonly model: string) {}

    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const model = this.model;
      const stored = { ...payload } as OidcPayload;
      const hold = activeHold();
      if (hold) return Promise.resolve(hold.write((s) => s.upsert(model, id, stored, expiresIn || undefined)));
      return guarded(() => store.upsert(model, id, stored, expiresIn || undefined));
    }

    find(id: string): Promise<AdapterPayload | undefined> {
      if (unstorable(id)) return Promise.resolve(undefined);
      if (this.model === 'Client') return guarded(() => clients(id));
      return guarded(() => store.find(this.model, id)) as Promise<AdapterPayload | undefined>;
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      if (unstorable(userCode)) return Promise.resolve(undefined);
      return guarded(() => store.findByUserCode(this.model, userCode)) as Promise<AdapterPayload | undefined>;
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (unstorable(uid)) return Promise.resolve(undefined);
      return guarded(() => store.findByUid(this.model, uid)) as Promise<AdapterPayload | undefined>;
    }

    async consume(id: string): Promise<void> {
      const hold = activeHold();
      if (hold) return hold.consume(this.model, id);
      const result = await guarded(() => store.consume(this.model, id));
      if (result.status === 'consumed') return;
      if (result.status === 'already_consumed' && result.grantId) {
        await revokeGrant(result.grantId);
        markGrantRevoked(Provider.ctx);
      }
      throw new errors.InvalidGrant(ALREADY_USED[this.model] ?? 'grant already consumed');
    }

    destroy(id: string): Promise<void> {
      const model = this.model;
      const hold = activeHold();
      if (hold) return Promise.resolve(hold.write((s) => s.destroy(model, id)));
      return destroyRow(`${model}:${id}`);
    }

    revokeByGrantId(grantId: string): Promise<void> {
      const hold = activeHold();
      if (hold) return Promise.resolve(hold.write((s) => s.revokeByGrantId(grantId)));
      return revokeGrant(grantId);
    }
  };
}

/** Extra client metadata: the API audiences the client may get tokens for, its default first. */
export const RESOURCES_PROPERTY = 'gatehouse_resources';
/** Extra client metadata: every scope the client may ask for (null = no restriction). */
export const SCOPE_PROPERTY = 'gatehouse_scope';
/** Extra client metadata: API audiences whose access tokens the client may introspect. */
export const INTROSPECTS_PROPERTY = 'gatehouse_introspects';
/** Extra client metadata: SHA-256 of the secret the last rotation replaced (see create-provider.ts). */
export const PREVIOUS_SECRET_PROPERTY = 'gatehouse_previous_secret';
/** Extra client metadata: until when (epoch milliseconds) that previous secret is accepted. */
export const PREVIOUS_SECRET_EXPIRES_PROPERTY = 'gatehouse_previous_secret_expires_at';
export const OIDC_SCOPES = new Set(['openid', 'email', 'offline_access']);

/**
 * A client as oidc-provider sees it. `client_secret` holds the secret's SHA-256; the provider's
 * comparison is replaced accordingly (create-provider.ts), and no feature that needs the plain secret
 * (HS* signatures, client_secret_jwt, symmetric encryption) is enabled.
 */
export function clientMetadata(c: ClientRecord): AdapterPayload {
  const native = c.redirectUris.some((u) => !/^https?:/.test(u));
  const oidcScopes = c.scope?.split(' ').filter((s) => OIDC_SCOPES.has(s)).join(' ');
  return {
    client_id: c.id,
    client_name: c.name,
    ...(c.secretHash ? { client_secret: c.secretHash } : {}),
    ...(c.secretHash && c.previousSecretHash && c.previousSecretExpiresAt
      ? { [PREVIOUS_SECRET_PROPERTY]: c.previousSecretHash, [PREVIOUS_SECRET_EXPIRES_PROPERTY]: c.previousSecretExpiresAt.getTime() }
      : {}),
    token_endpoint_auth_method: c.authMethod,
    grant_types: c.grants,
    response_types: c.grants.includes('authorization_code') ? ['code'] : [],
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    application_type: native ? 'native' : 'web',
    // The engine's `scope` governs OIDC scopes only; API scopes are limited in getResourceServerInfo.
    ...(oidcScopes ? { scope: oidcScopes } : {}),
    [RESOURCES_PROPERTY]: c.resources,
    [SCOPE_PROPERTY]: c.scope,
    [INTROSPECTS_PROPERTY]: c.introspects,
  } as AdapterPayload;
}
