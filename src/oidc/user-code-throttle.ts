import type { KoaContextWithOIDC } from 'oidc-provider';

/** Requests whose user code was not a live one (marked by the device flow's input page). */
export const wrongUserCodes = new WeakSet<object>();

export interface UserCodeGuard {
  /** Reserve one attempt for this IP; a refusal once over the IP's failure limit (or banned). */
  admit(ip: string): Promise<{ ok: true } | { ok: false; retryAfter: number; started: boolean; banned: boolean }>;
  /** The code was right (or nothing was guessed): give the reserved attempt back. */
  settle(ip: string): Promise<void>;
}

export interface UserCodeThrottleDeps {
  guard: UserCodeGuard;
  /** Path of the code entry page (the engine's code_verification route). */
  path: string;
  refused(ip: string, refusal: { retryAfter: number; started: boolean; banned: boolean }): void;
  page(status: 403 | 429, description: string, ctx: KoaContextWithOIDC): string;
}

/**
 * RFC 8628 §5.1: user codes are short, so their entry is a brute-force target and must be limited.
 * Every submission on the code entry page is counted against the IP's failure window, the same
 * counter as failed logins (IP_FAILURES per IP_WINDOW, then blocked for IP_BLOCK); a right code gives
 * its attempt back. Over the limit the page answers 429 with Retry-After and the engine never looks
 * the code up.
 */
export function throttleUserCodes(deps: UserCodeThrottleDeps) {
  return async function userCodeThrottle(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== deps.path) return next();
    const ip = ctx.ip;
    const decision = await deps.guard.admit(ip);
    if (!decision.ok) {
      deps.refused(ip, decision);
      ctx.status = decision.banned ? 403 : 429;
      if (!decision.banned) ctx.set('retry-after', String(decision.retryAfter));
      ctx.type = 'html';
      ctx.body = deps.page(
        decision.banned ? 403 : 429,
        decision.banned ? 'Requests from this network are blocked.' : `Too many attempts from this network; try again in ${decision.retryAfter} seconds.`,
        ctx,
      );
      return;
    }
    try {
      await next();
    } finally {
      if (!wrongUserCodes.has(ctx)) await deps.guard.settle(ip);
    }
  };
}
