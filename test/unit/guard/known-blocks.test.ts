import t from 'tap';
import { loadConfig } from '../../../src/config/load-config.ts';
import { createMemoryIpBanRepository } from '../../../src/guard/bans.ts';
import { createMemoryAttemptStore, type AttemptStore } from '../../../src/guard/counter.ts';
import { createKnownBlocks } from '../../../src/guard/known-blocks.ts';
import { createLoginGuard } from '../../../src/guard/login-guard.ts';
import { FIXED_START, steppableClock } from '../../helpers/clock.ts';

/** A refused request on a blocked IP is decided from what the process saw (guard/known-blocks.ts):
 * no counter read, the same answer as the database's, until the block ends by the clock. */
function counted(store: AttemptStore) {
  let reads = 0;
  return { store: { ...store, get: (key: string) => (reads++, store.get(key)) } satisfies AttemptStore, reads: () => reads };
}

const settings = { ...loadConfig({}).guard, ipResets: 2, ipWindow: 3600, ipBlock: 600 };

t.test('once an IP is blocked, its refusals read no counter; the block ends on time', async (t) => {
  const clock = steppableClock(FIXED_START);
  const shared = createMemoryAttemptStore();
  const { store, reads } = counted(shared);
  const guard = createLoginGuard({ store, bans: createMemoryIpBanRepository(), clock, settings });
  t.ok((await guard.admitRate('reset', '203.0.113.9')).ok);
  t.ok((await guard.admitRate('reset', '203.0.113.9')).ok);
  const blocking = await guard.admitRate('reset', '203.0.113.9');
  t.match(blocking, { ok: false, refusal: { reason: 'ip_blocked', retryAfter: 600, started: true } }, 'the third starts the block');
  const before = reads();
  clock.advance(100);
  t.match(await guard.admitRate('reset', '203.0.113.9'), { ok: false, refusal: { reason: 'ip_blocked', retryAfter: 500, started: false } });
  t.equal(reads(), before, 'refused without reading the counter');
  t.ok((await guard.admitRate('reset', '198.51.100.7')).ok, 'another IP is not affected');
  t.ok((await guard.admitRate('signup', '203.0.113.9')).ok, 'nor another window of the same IP');
  clock.advance(500);
  t.ok((await guard.admitRate('reset', '203.0.113.9')).ok, 'admitted again when the block ends');
});

t.test('a block started by another instance is read once, then known', async (t) => {
  const clock = steppableClock(FIXED_START);
  const shared = createMemoryAttemptStore();
  const elsewhere = createLoginGuard({ store: shared, bans: createMemoryIpBanRepository(), clock, settings });
  for (let i = 0; i < 3; i++) await elsewhere.admitRate('reset', '203.0.113.9');
  const { store, reads } = counted(shared);
  const here = createLoginGuard({ store, bans: createMemoryIpBanRepository(), clock, settings });
  t.match(await here.admitRate('reset', '203.0.113.9'), { ok: false, refusal: { reason: 'ip_blocked', started: false } });
  t.equal(reads(), 1, 'the first refusal reads the counter');
  t.match(await here.admitRate('reset', '203.0.113.9'), { ok: false, refusal: { reason: 'ip_blocked' } });
  t.equal(reads(), 1, 'the next does not');
});

t.test('an operator ban still applies to an IP whose block is known', async (t) => {
  const clock = steppableClock(FIXED_START);
  const bans = createMemoryIpBanRepository();
  const guard = createLoginGuard({ store: createMemoryAttemptStore(), bans, clock, settings });
  for (let i = 0; i < 3; i++) await guard.admitRate('reset', '203.0.113.9');
  await bans.put({ cidr: '203.0.113.0/24', reason: null, createdAt: clock.now(), expiresAt: null });
  t.match(await guard.admitRate('reset', '203.0.113.9'), { ok: false, refusal: { reason: 'ip_banned' } });
});

t.test('bounded: ended blocks go first, then the oldest', async (t) => {
  const blocks = createKnownBlocks(2);
  blocks.remember('a', 1000, 0);
  blocks.remember('b', 50, 0);
  blocks.remember('c', 1000, 100); // 'b' has ended by now: it goes, 'a' stays
  t.equal(blocks.until('a', 100), 1000);
  t.equal(blocks.until('b', 0), undefined);
  blocks.remember('d', 1000, 100); // none ended: the oldest ('a') goes
  t.equal(blocks.until('a', 100), undefined);
  t.equal(blocks.until('c', 100), 1000);
  t.equal(blocks.until('d', 999), 1000);
  t.equal(blocks.until('d', 1000), undefined, 'a block is over at its end');
});
