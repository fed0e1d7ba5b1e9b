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

export interface RemoteKeySet {
  /** jose's key resolver: the key for a token's header, fetching the key set when needed. */
  getKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
  /** The key that verified a token with this exact encoded protected header, while the key set is fresh. */
  knownKey(encodedHeader: string): CryptoKey | undefined;
  /** Records that `key` (from `getKey`) verified a token with this encoded protected header. */
  remember(encodedHeader: string, key: CryptoKey): void;
}

/** Distinct headers remembered per key set (Gatehouse uses one per signing key). */
const MAX_REMEMBERED = 32;

type Generation = {
  keys: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
  /** Keys this generation handed out; a key from an older generation is never remembered here. */
  issued: Set<CryptoKey>;
  byHeader: Map<string, CryptoKey>;
};

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
 *
 * The fast path: every token signed by one key carries the same encoded header, so once a header
 * has verified with a key, later tokens with that exact header get the key from a map, without
 * jose's resolver (measured: the resolver path alone costs several per cent of a verification).
 * The header is part of the signed input, so only headers Gatehouse signed get in; the map belongs to
 * one fetched key set and is dropped with it, and it is only used while that set is fresh.
 */
export function createRemoteKeySet(o: RemoteKeySetOptions): RemoteKeySet {
  let current: Generation | undefined;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let failure: unknown;
  let pending: Promise<void> | undefined;

  const attempt = async () => {
    attemptedAt = o.now();
    try {
      const keys = createLocalJWKSet((await o.load()) as JSONWebKeySet);
      current = { keys, fetchedAt: o.now(), issued: new Set(), byHeader: new Map() };
      failure = undefined;
    } catch (err) {
      failure = err;
    }
  };
  const refresh = () => (pending ??= attempt().finally(() => (pending = undefined)));
  const mayFetch = () => pending !== undefined || o.now() - attemptedAt >= o.cooldownDuration;

  const usable = async (): Promise<Generation> => {
    if (current && o.now() - current.fetchedAt < o.cacheMaxAge) return current;
    if (mayFetch()) await refresh();
    if (current && o.now() - current.fetchedAt < o.cacheMaxAge + o.staleIfError) return current;
    throw o.unavailable(failure);
  };

  const keyFrom = async (generation: Generation, header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const key = await generation.keys(header, token);
    if (generation.issued.size < MAX_REMEMBERED) generation.issued.add(key);
    return key;
  };

  return {
    async getKey(header, token) {
      const generation = await usable();
      try {
        return await keyFrom(generation, header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        if (mayFetch()) await refresh();
        // Gatehouse unreachable: the key may well exist, the token's holder is not at fault.
        if (failure !== undefined) throw o.unavailable(failure);
        if (!current || current === generation) throw err;
        return keyFrom(current, header, token);
      }
    },
    knownKey(encodedHeader) {
      const generation = current;
      if (!generation || o.now() - generation.fetchedAt >= o.cacheMaxAge) return undefined;
      return generation.byHeader.get(encodedHeader);
    },
    remember(encodedHeader, key) {
      const generation = current;
      if (generation?.issued.has(key) && generation.byHeader.size < MAX_REMEMBERED) generation.byHeader.set(encodedHeader, key);
    },
  };
}
