import type { PrivateJwk } from './generate-key.js';
import type { Manifest } from './keyring-files.js';
import { keyState, signingKey, SIGNING_ALGS, type KeyEntry, type SigningAlg } from './schedule.js';

/**
 * Pure keyring changes: each takes the manifest and the clock's "now" and returns the next manifest.
 * Writing it (atomically, key files first) is the caller's job.
 */
export interface RotationTiming {
  /** Seconds a new key is published before it signs (KEY_PREPUBLISH, or 0 for --now). */
  prepublish: number;
  /** Seconds a retired key stays published: the longest lifetime of a token it signed plus clock skew. */
  keepRetired: number;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * Publishes one new key per algorithm now; it starts signing after `prepublish`, at which moment the
 * current signing key retires, and that key is removed `keepRetired` later. A pending next key (an
 * earlier rotation still waiting) is superseded by the new one and dropped unused.
 */
export function planRotation(manifest: Manifest, newKeys: readonly PrivateJwk[], now: Date, timing: RotationTiming): Manifest {
  const t = now.getTime();
  const activation = t + timing.prepublish * 1000;
  const keys = manifest.keys.map((entry): KeyEntry => {
    if (!newKeys.some((k) => k.alg === entry.alg)) return entry;
    const state = keyState(entry, now);
    if (state === 'removed') return entry;
    if (state === 'next') {
      // A rotation already waiting: the newer key takes its place; this one is dropped unused.
      return { ...entry, retires_at: iso(t), removed_at: iso(t) };
    }
    if (state === 'retired') return entry;
    // The signing key signs until the new key activates (also when that moves a retirement planned by
    // a superseded rotation), then stays published for every token it signed.
    return { ...entry, retires_at: iso(activation), removed_at: iso(activation + timing.keepRetired * 1000) };
  });
  for (const k of newKeys) {
    keys.push({ kid: k.kid, alg: k.alg, use: 'sig', published_at: iso(t), activates_at: iso(activation), retires_at: null, removed_at: null });
  }
  return { version: 1, keys };
}

/**
 * Emergency removal: the key leaves the JWKS now and tokens it signed stop verifying. When it was the
 * signing key of its algorithm, `replacement` (a fresh key of that algorithm) signs from now on.
 */
export function planRevocation(manifest: Manifest, kid: string, now: Date, replacement?: PrivateJwk): Manifest {
  const t = iso(now.getTime());
  const keys = manifest.keys.map((e): KeyEntry => (e.kid === kid ? { ...e, retires_at: e.retires_at && e.retires_at < t ? e.retires_at : t, removed_at: t } : e));
  if (replacement) keys.push({ kid: replacement.kid, alg: replacement.alg, use: 'sig', published_at: t, activates_at: t, retires_at: null, removed_at: null });
  return { version: 1, keys };
}

/** Algorithms that would have no signing key left after `kid` is revoked (needing a replacement). */
export function needsReplacement(manifest: Manifest, kid: string, now: Date): SigningAlg | undefined {
  const entry = manifest.keys.find((e) => e.kid === kid);
  if (!entry) return undefined;
  const signing = signingKey(manifest.keys, entry.alg, now);
  if (signing?.kid !== kid) return undefined;
  const others = manifest.keys.filter((e) => e.kid !== kid && e.alg === entry.alg && keyState(e, now) === 'active');
  return others.length === 0 ? entry.alg : undefined;
}

/** Drops removed keys from the manifest; returns the new manifest and the kids whose files can go. */
export function planPrune(manifest: Manifest, now: Date): { manifest: Manifest; pruned: string[] } {
  const pruned = manifest.keys.filter((e) => keyState(e, now) === 'removed').map((e) => e.kid);
  return { manifest: { version: 1, keys: manifest.keys.filter((e) => !pruned.includes(e.kid)) }, pruned };
}

/** True when a scheduled rotation is due: the newest key of some algorithm is older than `interval`. */
export function rotationDue(manifest: Manifest, now: Date, intervalSeconds: number): boolean {
  return SIGNING_ALGS.some((alg) => {
    const newest = manifest.keys
      .filter((e) => e.alg === alg && keyState(e, now) !== 'removed')
      .map((e) => Date.parse(e.published_at))
      .sort((a, b) => b - a)[0];
    return newest === undefined || now.getTime() - newest >= intervalSeconds * 1000;
  });
}

/**
 * JWKS `Cache-Control: max-age`: never longer than half the pre-publication window (a resource server
 * refetches at least once while a new key waits to sign) nor than the time to the next scheduled
 * change (so a removal is not hidden behind a cache).
 */
export function jwksMaxAge(now: Date, prepublish: number, nextChange: Date | undefined): number {
  const half = Math.floor(prepublish / 2);
  const untilChange = nextChange ? Math.max(0, Math.floor((nextChange.getTime() - now.getTime()) / 1000)) : Number.POSITIVE_INFINITY;
  return Math.max(0, Math.min(half, untilChange));
}
