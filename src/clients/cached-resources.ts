import type { Clock } from '../lib/clock.js';
import type { ResourceRecord, ResourceRepository } from './records.js';

/**
 * API definitions read on every token request, kept for `ttlMs` per instance: a new API, or changed
 * scopes or TTL, reach every instance within that time. Clients are deliberately not cached — a
 * deleted client must stop at once — and an API cannot be deleted while a client uses it.
 */
export function cachedResources(repo: ResourceRepository, ttlMs: number, clock: Clock): ResourceRepository {
  const now = () => clock.now().getTime();
  const cache = new Map<string, { at: number; value: Promise<ResourceRecord | undefined> }>();
  const forget = () => cache.clear();
  return {
    async insert(resource) {
      forget();
      return repo.insert(resource);
    },
    async find(audience) {
      const hit = cache.get(audience);
      if (hit && now() - hit.at < ttlMs) return hit.value;
      const value = repo.find(audience);
      cache.set(audience, { at: now(), value });
      value.catch(() => cache.delete(audience));
      return value;
    },
    list: () => repo.list(),
    async update(audience, changes) {
      forget();
      return repo.update(audience, changes);
    },
    async delete(audience) {
      forget();
      return repo.delete(audience);
    },
  };
}
