import { createLocalJWKSet, errors, type CryptoKey, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';

export interface RemoteKeySetOptions {
  /** Fetches Gatehouse's current JWK Set (discovery included). */
  load: () => Promise<unknown>;
  /** Milliseconds since the epoch. */
  now: () => number;
  cacheMaxAge: number;
  cooldownDuration: number;
  staleIfError: number;
  /** The error thrown when no usable key set can be had. */
  unavailable: (cause: unknown) => Error;
}

export type KeyGetter = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * Gatehouse's signing keys, fetched and cached. jose's `createRemoteJWKSet` does most of this, but
 * its clock cannot be injected and it has two gaps this closes:
 * - serve stale: when a refetch fails, the last good set keeps verifying for `staleIfError` past
 *   its `cacheMaxAge` (jose throws as soon as the set is older than `cacheMaxAge` and a fetch fails);
 * - no amplification, even while Gatehouse is down: at most one fetch starts per `cooldownDuration`,
 *   successful or not (jose retries on every unknown `kid` after a failed fetch).
 * Key selection and import (kid, alg, kty, use, key_ops) are jose's `createLocalJWKSet`.
 *
 * An unknown `kid` triggers a refetch (a key published since the last fetch: rotation) unless a
 * fetch started less than `cooldownDuration` ago. Concurrent callers share one fetch.
 */
export function createRemoteKeySet(o: RemoteKeySetOptions): KeyGetter {
  let current: { keys: ReturnType<typeof createLocalJWKSet>; fetchedAt: number } | undefined;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let failure: unknown;
  let pending: Promise<void> | undefined;

  const attempt = async () => {
    attemptedAt = o.now();
    try {
      const keys = createLocalJWKSet((await o.load()) as JSONWebKeySet);
      current = { keys, fetchedAt: o.now() };
      failure = undefined;
    } catch (err) {
      failure = err;
    }
  };
  const refresh = () => (pending ??= attempt().finally(() => (pending = undefined)));
  const mayFetch = () => pending !== undefined || o.now() - attemptedAt >= o.cooldownDuration;

  const usableKeys = async () => {
    if (current && o.now() - current.fetchedAt < o.cacheMaxAge) return current.keys;
    if (mayFetch()) await refresh();
    if (current && o.now() - current.fetchedAt < o.cacheMaxAge + o.staleIfError) return current.keys;
    throw o.unavailable(failure);
  };

  return async (header, token) => {
    const keys = await usableKeys();
    try {
      return await keys(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      if (mayFetch()) await refresh();
      // Gatehouse unreachable: the key may well exist, the token's holder is not at fault.
      if (failure !== undefined) throw o.unavailable(failure);
      if (!current || current.keys === keys) throw err;
      return current.keys(header, token);
    }
  };
}
