import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../lib/clock.js';
import { sha256 } from '../lib/digest.js';
import { seal, unseal } from '../lib/seal.js';
import { commitRun, refusedBeforeConsume, runHeld, type GrantHandler } from './atomic-grant.js';
import { guarded } from './engine-errors.js';
import type { RefreshRotationStore } from './refresh-rotation-store.js';

export interface RefreshGraceDeps {
  store: RefreshRotationStore;
  graceSeconds: number;
  secrets: readonly string[];
  clock: Clock;
}

const PURPOSE = 'refresh-grace';
/** How long a rotation's record outlives its grace window before the sweeper deletes it. */
const KEEP_AFTER_WINDOW_MS = 60_000;

/**
 * oidc-provider's refresh_token grant as one atomic step with single-successor semantics (docs/architecture.md,
 * Tokens). The engine runs with its writes held; consuming the old token, storing the successor and
 * recording the (sealed) response then commit in one transaction, keyed on the old token's hash.
 * - A crash or a dropped connection before that commit leaves the old token unused: the retry
 *   rotates normally. After it, the retry finds the record and gets the same response.
 * - Two tabs refreshing at once: one commit wins; the other finds the winner's record and answers
 *   with the same successor (no fork), as does any retry with the same token from the same client
 *   within the grace window.
 * - Outside the window (or with REFRESH_GRACE_SECONDS=0) the engine sees a used token and revokes
 *   the whole grant; the reuse is audited.
 */
export function withRefreshGrace(original: GrantHandler, deps: RefreshGraceDeps): GrantHandler {
  const graceMs = deps.graceSeconds * 1000;

  /** The recorded response of this token's rotation, if it may be replayed now. */
  const replayable = async (ctx: KoaContextWithOIDC, key: string, clientId: string): Promise<object | undefined> => {
    if (graceMs === 0) return undefined;
    const claim = await guarded(() => deps.store.get(key));
    if (!claim?.response || claim.clientId !== clientId) return undefined;
    if (deps.clock.now().getTime() - claim.createdAt.getTime() > graceMs) return undefined;
    const body = unseal(claim.response, deps.secrets, PURPOSE);
    if (!body) return undefined;
    const response = JSON.parse(body) as { refresh_token?: string };
    // Replay only while the successor is still alive (a ban or logout in between wins).
    if (response.refresh_token && !(await ctx.oidc.provider.RefreshToken.find(response.refresh_token))) return undefined;
    return response;
  };

  return async function refreshTokenAtomically(ctx) {
    const value = ctx.oidc.params?.refresh_token;
    if (typeof value !== 'string' || value.length === 0) return original(ctx);
    const key = sha256(value);
    const clientId = ctx.oidc.client!.clientId;

    // The engine runs first, its writes held. A token already rotated is one it refuses (used, or
    // gone) before consuming anything; only then is its rotation's record looked up. So a rotation
    // that is not a retry costs no lookup, and a retry's refusal (and the revocation the engine holds
    // with it) is discarded for the recorded answer.
    const now = deps.clock.now();
    const run = await runHeld(original, ctx);
    if (run.error !== undefined) {
      if (!refusedBeforeConsume(run)) throw run.error;
      // A retry, or a second tab, within the window: the same answer, not a replay.
      const recorded = await replayable(ctx, key, clientId);
      if (recorded) {
        run.discard();
        ctx.body = recorded;
        return;
      }
      await commitRun(deps.store, run, null);
      throw run.error;
    }
    const claim =
      graceMs === 0
        ? null
        : {
            tokenHash: key,
            clientId,
            createdAt: now,
            expiresAt: new Date(now.getTime() + graceMs + KEEP_AFTER_WINDOW_MS),
            response: seal(JSON.stringify(ctx.body), deps.secrets, PURPOSE),
          };
    if ((await commitRun(deps.store, run, claim)) === 'committed') return;
    // Another request's rotation of this token committed first.
    run.discard();
    const winner = await replayable(ctx, key, clientId);
    if (winner) ctx.body = winner;
    else await original(ctx);
  };
}
