import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { ResourceRepository } from '../clients/records.js';
import { RESOURCES_PROPERTY, SCOPE_PROPERTY } from './adapter.js';
import { guarded } from './engine-errors.js';

type ClientLike = { clientId: string; [RESOURCES_PROPERTY]?: string[]; [SCOPE_PROPERTY]?: string | null };

const allowedResources = (client: unknown): string[] => (client as ClientLike)[RESOURCES_PROPERTY] ?? [];

/** The API's scopes, narrowed to the ones the client may ask for when it has a list. */
function scopesFor(client: unknown, apiScopes: string[]): string {
  const allowed = (client as ClientLike)[SCOPE_PROPERTY];
  if (!allowed) return apiScopes.join(' ');
  const list = new Set(allowed.split(' '));
  return apiScopes.filter((s) => list.has(s)).join(' ');
}

/** Where a person's (or device's) request names its API and scopes; the token endpoint then only
 * narrows what was granted here. */
const REQUEST_ROUTES = new Set(['authorization', 'resume', 'pushed_authorization_request', 'device_authorization']);

/**
 * A request naming an API but none of the scopes this client may get for it would end in a JWT for
 * that API with no scope and a token response with `"scope": ""` (RFC 6749 §3.3: a scope is one or
 * more values). Refused here, before anyone signs in, so the app's developer sees why at once.
 */
function refuseEmptyScope(ctx: KoaContextWithOIDC, indicator: string, apiScope: string): void {
  const requested = new Set(String(ctx.oidc.params?.scope ?? '').split(' '));
  if (apiScope.split(' ').some((s) => s !== '' && requested.has(s))) return;
  const offered = apiScope === '' ? 'none this client may use' : apiScope;
  throw new errors.InvalidScope(`resource ${indicator} needs at least one of its scopes in scope (offered: ${offered})`, apiScope);
}

/**
 * RFC 8707 resource indicators, Auth0's convention (README, "Apps, APIs and tokens"):
 * - client credentials without `resource` → a JWT for the client's default API (its first resource);
 * - the code and device flows without `resource` → an opaque token only userinfo accepts;
 * - `resource=<audience>` → an RFC 9068 JWT (ES256) for that API, if the client may use it,
 *   otherwise `invalid_target`; in the code and device flows the request must ask for at least one
 *   of that API's scopes, otherwise `invalid_scope`.
 */
export function resourceIndicators(resources: ResourceRepository, defaultTtl: number) {
  return {
    enabled: true,
    async defaultResource(ctx: KoaContextWithOIDC, client: unknown, oneOf?: string | string[]) {
      if (oneOf) return oneOf;
      if (ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials') {
        return allowedResources(client)[0];
      }
      return undefined;
    },
    // A token request that repeats no `resource` gets the one granted at authorization.
    async useGrantedResource() {
      return true;
    },
    async getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: unknown): Promise<ResourceServer> {
      if (!allowedResources(client).includes(indicator)) {
        throw new errors.InvalidTarget(`this client may not get tokens for ${indicator}`);
      }
      const api = await guarded(() => resources.find(indicator));
      if (!api) throw new errors.InvalidTarget(`no API with audience ${indicator}`);
      const scope = scopesFor(client, api.scopes);
      if (REQUEST_ROUTES.has(String(ctx.oidc.route))) refuseEmptyScope(ctx, indicator, scope);
      return {
        scope,
        audience: api.audience,
        accessTokenTTL: api.accessTokenTtl ?? defaultTtl,
        accessTokenFormat: 'jwt',
        // RFC 9068 JWT signed with the EC key; typ at+jwt is set by the engine.
        jwt: { sign: { alg: 'ES256' } },
      };
    },
  };
}
