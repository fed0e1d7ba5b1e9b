import t from 'tap';
import { cachedIpBans, createMemoryIpBanRepository, type IpBan, type IpBanRepository } from '../../../src/guard/bans.ts';
import { FIXED_START, steppableClock } from '../../helpers/clock.ts';

/** The ban list cache (guard/bans.ts) re-reads by the injected clock: the test steps it, never sleeps. */
function counted(repo: IpBanRepository) {
  let reads = 0;
  return {
    repo: { ...repo, active: (now: Date) => (reads++, repo.active(now)) } satisfies IpBanRepository,
    reads: () => reads,
  };
}

const ban = (cidr: string, expiresAt: Date | null = null): IpBan => ({ cidr, reason: null, createdAt: FIXED_START, expiresAt });

t.test('read at most once per ttl by the clock; a ban made elsewhere shows after it', async (t) => {
  const clock = steppableClock(FIXED_START);
  const shared = createMemoryIpBanRepository();
  const { repo, reads } = counted(shared);
  const cache = cachedIpBans(repo, 2000, clock);
  t.same(await cache.active(clock.now()), []);
  await shared.put(ban('203.0.113.0/24')); // another instance bans, past this cache
  clock.advance(1);
  t.same(await cache.active(clock.now()), [], 'still the cached list within two seconds');
  t.equal(reads(), 1, 'one read so far');
  clock.advance(1.5);
  t.same((await cache.active(clock.now())).map((b) => b.cidr), ['203.0.113.0/24'], 'the new ban once the ttl passed');
  t.equal(reads(), 2);
});

t.test('its own writes empty the cache at once; expiry is checked against the time asked', async (t) => {
  const clock = steppableClock(FIXED_START);
  const cache = cachedIpBans(createMemoryIpBanRepository(), 2000, clock);
  t.same(await cache.active(clock.now()), []);
  await cache.put(ban('198.51.100.0/24', new Date(FIXED_START.getTime() + 1000)));
  t.equal((await cache.active(clock.now())).length, 1, 'a ban made here applies at once');
  clock.advance(1.5);
  t.same(await cache.active(clock.now()), [], 'and ends at its expiry, cached or not');
  await cache.delete('198.51.100.0/24');
  t.same(await cache.active(clock.now()), []);
});
