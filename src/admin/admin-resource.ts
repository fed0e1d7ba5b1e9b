import type { Clock } from '../lib/clock.js';
import type { ResourceRepository } from '../clients/records.js';

export const ADMIN_SCOPE = 'gatehouse:admin';

export const adminAudience = (issuer: string) => `${issuer}/admin`;

/** The admin API is an API like any other: registered once (idempotently) at start. */
export async function ensureAdminResource(resources: ResourceRepository, issuer: string, clock: Clock): Promise<void> {
  if (await resources.find(adminAudience(issuer))) return;
  // Admin tokens live ACCESS_TOKEN_TTL like any other access token (a longer API TTL would also
  // keep retired signing keys published longer).
  await resources.insert({ audience: adminAudience(issuer), scopes: [ADMIN_SCOPE], accessTokenTtl: null, description: null, scopeDescriptions: {}, createdAt: clock.now() });
}
