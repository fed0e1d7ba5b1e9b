/**
 * The requests in which a grant was revoked. At the token endpoint only a reuse does that: the engine
 * revokes the grant of a code or refresh token presented a second time, and so does our adapter for
 * the loser of a race to consume one. The `grant.error` listener reads it to audit the reuse from what
 * happened, not from the wording of the engine's error text.
 */
const revokedIn = new WeakSet<object>();

export function markGrantRevoked(ctx: object | undefined): void {
  if (ctx) revokedIn.add(ctx);
}

export function grantRevokedIn(ctx: object): boolean {
  return revokedIn.has(ctx);
}
