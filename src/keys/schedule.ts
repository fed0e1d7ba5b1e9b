/**
 * A key's life is a schedule, not a flag: every instance reading the same manifest computes the same
 * state at the same moment, so all of them switch signing keys together (docs/architecture.md, Signing keys).
 *   next     published in the JWKS, not signing yet (resource servers learn it first)
 *   active   signing (the most recently activated one per algorithm)
 *   retired  no longer signing, still published so tokens it signed keep verifying
 *   removed  gone from the JWKS (after the longest token lifetime, or revoked)
 */
export type SigningAlg = 'ES256' | 'RS256';
export type KeyState = 'next' | 'active' | 'retired' | 'removed';

export interface KeyEntry {
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  published_at: string;
  activates_at: string;
  retires_at: string | null;
  removed_at: string | null;
}

export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];

const at = (iso: string | null): number => (iso === null ? Number.POSITIVE_INFINITY : Date.parse(iso));

export function keyState(entry: KeyEntry, now: Date): KeyState {
  const t = now.getTime();
  if (t >= at(entry.removed_at)) return 'removed';
  if (t >= at(entry.retires_at)) return 'retired';
  if (t >= at(entry.activates_at)) return 'active';
  return 'next';
}

/** The key that signs for `alg` now: the active one activated last. */
export function signingKey(entries: readonly KeyEntry[], alg: SigningAlg, now: Date): KeyEntry | undefined {
  return entries
    .filter((e) => e.alg === alg && keyState(e, now) === 'active')
    .sort((a, b) => at(b.activates_at) - at(a.activates_at))[0];
}

/** The next moment any key changes state (undefined when nothing is scheduled). */
export function nextChangeAt(entries: readonly KeyEntry[], now: Date): Date | undefined {
  const t = now.getTime();
  const upcoming = entries
    .flatMap((e) => [e.published_at, e.activates_at, e.retires_at, e.removed_at])
    .map(at)
    .filter((x) => Number.isFinite(x) && x > t);
  return upcoming.length > 0 ? new Date(Math.min(...upcoming)) : undefined;
}
