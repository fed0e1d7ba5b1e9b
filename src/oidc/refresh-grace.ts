import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../lib/clock.js';
import { sha256 } from '../lib/digest.js';
import { seal, unseal } from '../lib/seal.js';
import type { OidcStore } from './oidc-store.js';
import type { RefreshRotationStore } from './refresh-rotation-store.js';

type GrantHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

export interface RefreshGraceDeps {
  store: RefreshRotationStore;
  oidcStore: OidcStore;
  graceSeconds: number;
  secrets: readonly string[];
  clock: Clock;
  /** How often a waiting request looks for the winner's response. */
  pollMs?: number;
}

const PURPOSE = 'refresh-grace';
/** A waiting request gives up (503, retry) rather than revoke the family if the winner is this slow. */
const MAX_WAIT_MS = 10_000;

/**
 * Wraps oidc-provider's refresh_token grant with single-successor semantics (DESIGN.md, Tokens):
 * the first request to present a refresh token claims it and runs the normal rotation; any request
 * with the same token from the same client within the grace window waits for that rotation and gets
 * the same response (same successor, never a fork). Outside the window the request goes to the engine,
 * which sees a used token and revokes the whole grant. The stored response is sealed (AES-GCM with a
 * key from SECRETS) and swept soon after the window.
 */
export function withRefreshGrace(original: GrantHandler, deps: RefreshGraceDeps): GrantHandler {
  const graceMs = deps.graceSeconds * 1000;
  const pollMs = deps.pollMs ?? 20;
  if (graceMs === 0) return original;

  return async function refreshTokenWithGrace(ctx) {
    const value = ctx.oidc.params?.refresh_token;
    if (typeof value !== 'string' || value.length === 0) return original(ctx);
    const key = sha256(value);
    const clientId = ctx.oidc.client!.clientId;
    const now = deps.clock.now();
    const claim = await deps.store.claim(key, clientId, now, new Date(now.getTime() + graceMs + 60_000));

    if (claim === 'won') {
      try {
        await original(ctx);
      } catch (err) {
        await deps.store.release(key).catch(() => {});
        // Failed after consuming the old token but before answering: give it back, so the client's
        // retry rotates normally instead of looking like a replay.
        if (ctx.oidc.entities.RotatedRefreshToken) await deps.oidcStore.unconsume('RefreshToken', value).catch(() => {});
        throw err;
      }
      await deps.store.complete(key, seal(JSON.stringify(ctx.body), deps.secrets, PURPOSE));
      return;
    }

    const age = now.getTime() - claim.createdAt.getTime();
    if (claim.clientId !== clientId || age > graceMs) return original(ctx);

    const sealed = claim.response ?? (await waitForResponse(deps.store, key, pollMs, Math.min(MAX_WAIT_MS, Math.max(graceMs - age, 2000))));
    if (sealed === 'released') return original(ctx);
    if (sealed === undefined) {
      const err = new errors.TemporarilyUnavailable('the refresh token is being rotated; retry shortly') as Error & { status: number; statusCode: number };
      err.status = 503;
      err.statusCode = 503;
      throw err;
    }
    const body = unseal(sealed, deps.secrets, PURPOSE);
    if (!body) return original(ctx);
    const response = JSON.parse(body) as { refresh_token?: string };
    // Replay only while the successor is still alive (a ban or logout in between wins).
    if (response.refresh_token && !(await ctx.oidc.provider.RefreshToken.find(response.refresh_token))) return original(ctx);
    ctx.body = response;
  };
}

async function waitForResponse(
  store: RefreshRotationStore,
  key: string,
  pollMs: number,
  timeoutMs: number,
): Promise<string | 'released' | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    const claim = await store.get(key);
    if (!claim) return 'released';
    if (claim.response) return claim.response;
  }
  return undefined;
}
