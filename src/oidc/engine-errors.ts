import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { isUnavailable, RETRY_AFTER_UNAVAILABLE } from '../errors.js';

const DESCRIPTION = 'the service is temporarily unavailable; retry shortly';

/** The engine's own form of our 503: its error handler renders OIDC errors and turns anything else
 * into a 500 `server_error`. */
export function engineUnavailable(cause: unknown): Error {
  const err = new errors.TemporarilyUnavailable(DESCRIPTION, { cause }) as Error & { status: number; statusCode: number; expose: boolean };
  err.status = 503;
  err.statusCode = 503;
  err.expose = true;
  return err;
}

/** For our code the engine calls (adapter, accounts, APIs, rotations): a failing database fails
 * closed as the engine's 503. */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw isUnavailable(err) ? engineUnavailable(err) : err;
  }
}

/** Is this the engine's 503 (from `guarded`), for code outside the engine that must pass it on? */
export const isEngineUnavailable = (err: unknown): boolean =>
  err instanceof errors.TemporarilyUnavailable && (err as { statusCode?: number }).statusCode === 503;

/**
 * The engine's outermost middleware: every 503 carries Retry-After, and a database failure outside
 * the engine's route error handlers is a 503 too: in our own engine middlewares, and in the engine's
 * session save, which runs after a route has answered. People get the error page, machines JSON.
 */
export function unavailableAnswers(errorPage: (out: { error: string; error_description: string }, ctx: KoaContextWithOIDC) => string) {
  return async function answerUnavailable(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (!isUnavailable(err) && !isEngineUnavailable(err)) throw err;
      const out = { error: 'temporarily_unavailable', error_description: DESCRIPTION };
      ctx.status = 503;
      // A route may have answered already (a redirect carrying a code) before the session save failed.
      ctx.remove('location');
      ctx.set('cache-control', 'no-store');
      if (ctx.accepts('json', 'html') === 'html') {
        ctx.type = 'html';
        ctx.body = errorPage(out, ctx);
      } else {
        ctx.body = out;
      }
    }
    if (ctx.status === 503) ctx.set('retry-after', String(RETRY_AFTER_UNAVAILABLE));
  };
}
