import type { ResourceRepository } from '../clients/records.js';
import { FieldError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { UnitOfWork } from '../lib/unit-of-work.js';
import type { AuditLog } from '../observability/audit.js';
import { feedRetention } from '../revocation/retention.js';
import type { RevocationStore } from '../revocation/revocation-store.js';

export interface TokenRevocationDeps {
  revocations: Pick<RevocationStore, 'record'>;
  resources: Pick<ResourceRepository, 'list'>;
  config: { accessTokenTtl: number; clockSkew: number };
  audit: AuditLog;
  clock: Clock;
  atomically: UnitOfWork;
  /** Who did it (the CLI, or the admin API's client id), for the audit log. */
  actor: string;
  /** Where the admin API call came from. */
  who?: { ip?: string | null; userAgent?: string | null };
}

/**
 * A `jti` as Gatehouse issues them (43 characters of the URL-safe alphabet), with room for other
 * lengths; never a whole token, which an operator might paste by mistake.
 */
const JTI = /^[A-Za-z0-9_-]{8,128}$/;

/** Refuses what cannot be a token id, with a sentence saying why (before anything is opened or written). */
export function checkJti(jti: string): void {
  if (JTI.test(jti)) return;
  if (jti.split('.').length === 3) {
    throw new FieldError('jti', 'format', 'this looks like a whole token; give its jti claim (the id in its payload), not the token');
  }
  throw new FieldError('jti', 'format', 'must be a token id: 8 to 128 letters, digits, "-" or "_"');
}

/**
 * An operator revokes one JWT access token by its `jti` (from a log line, an introspection answer or
 * the token's payload): it is listed in the revocation feed, as a `POST /token/revocation` by its
 * client lists it, so verifiers refuse it within their poll interval. The entry expires like every
 * other (the longest access-token lifetime plus the clock skew: by then the token has expired). A jti
 * Gatehouse never issued is accepted too: the token is not stored, so there is nothing to check it
 * against, and listing an unknown id voids nothing.
 */
export async function revokeAccessToken(deps: TokenRevocationDeps, jti: string, reason?: string) {
  checkJti(jti);
  const now = deps.clock.now();
  const retention = await feedRetention({ accessTokenTtl: deps.config.accessTokenTtl, clockSkew: deps.config.clockSkew, resources: deps.resources, clock: deps.clock })();
  await deps.atomically(async () => {
    await deps.revocations.record({ kind: 'token', ref: jti, createdAt: now });
    await deps.audit.record({ ...deps.who, type: 'access_token.revoked', detail: { jti, reason: reason?.slice(0, 500) ?? null, by: deps.actor } });
  });
  return { jti, revoked: true as const, listed_until: new Date(now.getTime() + retention * 1000).toISOString() };
}
