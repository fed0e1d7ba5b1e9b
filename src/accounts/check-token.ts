import type { AccountDeps } from './account-deps.js';
import { hashOneTimeToken, isWellFormedToken, type OneTimeTokenPurpose, type OneTimeTokenState } from './one-time-tokens.js';
import type { User } from './users.js';

/** Why a mailed link did not work; each has its own sentence on the page and in the API. */
export type TokenProblem = 'invalid' | 'used' | 'expired';
export type TokenOutcome = { ok: true; user: User } | { ok: false; reason: TokenProblem };

export const TOKEN_PROBLEMS: Record<TokenProblem, string> = {
  invalid: 'This link is not valid. It may be incomplete, or a newer link replaced it.',
  used: 'This link has already been used. Each link works once.',
  expired: 'This link has expired. Ask for a new one.',
};

export const problemOf = (state: Exclude<OneTimeTokenState, { status: 'valid' }>): TokenProblem =>
  state.status === 'unknown' ? 'invalid' : state.status;

/**
 * Reads a mailed token without using it up (the page the link opens: mail scanners prefetch links,
 * so a GET must never consume).
 */
export async function checkOneTimeToken(
  deps: Pick<AccountDeps, 'tokens' | 'clock'>,
  token: unknown,
  purpose: OneTimeTokenPurpose,
): Promise<{ ok: true } | { ok: false; reason: TokenProblem }> {
  if (!isWellFormedToken(token)) return { ok: false, reason: 'invalid' };
  const state = await deps.tokens.peek(hashOneTimeToken(token), purpose, deps.clock.now());
  return state.status === 'valid' ? { ok: true } : { ok: false, reason: problemOf(state) };
}
