import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { guarded } from './engine-errors.js';
import { createWriteHold, holdingWrites, type WriteHold } from './held-writes.js';
import type { NewRotationClaim, RefreshRotationStore } from './refresh-rotation-store.js';

export type GrantHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

/**
 * oidc-provider redeems a code or token in steps, each its own write: consume it, save the tokens
 * issued from it. A crash or a dropped connection between them would leave the code or token used
 * with nothing issued, and the client's retry would look like a replay (invalid_grant, the grant
 * revoked). So the engine's handler runs with its writes held, and they commit in one transaction.
 */
export interface HeldRun {
  hold: WriteHold;
  /** What the engine threw, if it refused or failed. */
  error?: unknown;
  /** Forgets the entities this run put on the request, before the engine runs again for real. */
  discard(): void;
}

/** Runs the engine's handler with its writes held; nothing is written yet. */
export async function runHeld(original: GrantHandler, ctx: KoaContextWithOIDC): Promise<HeldRun> {
  const hold = createWriteHold();
  const before = { ...ctx.oidc.entities } as Record<string, unknown>;
  const discard = () => {
    const entities = ctx.oidc.entities as Record<string, unknown>;
    for (const name of Object.keys(entities)) if (!(name in before)) delete entities[name];
    Object.assign(entities, before);
    // The body it set is replaced by whatever answers next (setting it to nothing would make koa
    // answer 204 from then on).
  };
  try {
    await holdingWrites(hold, () => original(ctx));
    return { hold, discard };
  } catch (error) {
    return { hold, error, discard };
  }
}

/**
 * The engine refused before consuming anything (unknown, expired or already used code or token):
 * what it wrote on the way (the revocation that follows a reuse) must land.
 */
export const refusedBeforeConsume = ({ hold, error }: HeldRun): boolean =>
  error instanceof errors.OIDCProviderError && (error as { statusCode?: number }).statusCode! < 500 && !hold.consumed;

/** Commits the run's writes (and a claim); a failing database is the engine's 503. */
export const commitRun = (store: RefreshRotationStore, run: HeldRun, claim: NewRotationClaim | null) =>
  guarded(() => store.commit(claim, run.hold.writes()));

/**
 * The authorization-code and device grants: consume + tokens in one commit. When another request
 * redeemed the same code first, the commit finds it consumed and writes nothing; the engine then runs
 * for real and answers as it does to any reuse (invalid_grant, the grant revoked).
 */
export function withAtomicGrant(original: GrantHandler, store: RefreshRotationStore): GrantHandler {
  return async function atomicGrant(ctx) {
    const run = await runHeld(original, ctx);
    if (run.error !== undefined) {
      if (refusedBeforeConsume(run)) await commitRun(store, run, null);
      throw run.error;
    }
    if ((await commitRun(store, run, null)) === 'committed') return;
    run.discard();
    await original(ctx);
  };
}
