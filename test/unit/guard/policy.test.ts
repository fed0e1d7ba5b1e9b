import t from 'tap';
import { loadConfig } from '../../../src/config/load-config.ts';
import { EMPTY, type Counter } from '../../../src/guard/counter.ts';
import { admitAccount, admitConsecutive, admitWindow, clear, refund } from '../../../src/guard/policy.ts';
import { ipInCidr, ipUnit, parseCidr } from '../../../src/guard/ip.ts';

const s = loadConfig({}).guard;
const apply = (c: Counter, d: { admit: boolean; next?: Omit<Counter, 'version'> }): Counter => (d.next ? { ...c, ...d.next } : c);

t.test('defaults are the documented policy', async (t) => {
  t.match(s, { freeAttempts: 5, baseDelay: 1, maxDelay: 900, ipFailures: 50, ipWindow: 3600, ipBlock: 3600, lockAfter: 20, lockFor: 900, maxLock: 86400, disableAfter: 100 });
});

t.test('one account from one IP: five free attempts, then doubling waits capped at 15 minutes', async (t) => {
  let c = EMPTY;
  let now = 0;
  for (let i = 1; i <= 5; i++) {
    const d = admitConsecutive(c, now, s);
    t.ok(d.admit, `attempt ${i} free`);
    c = apply(c, d);
  }
  const waits: number[] = [];
  for (let i = 0; i < 14; i++) {
    const refused = admitConsecutive(c, now, s);
    t.notOk(refused.admit, 'too early');
    const retryAt = (refused as { retryAt: number }).retryAt;
    waits.push((retryAt - now) / 1000);
    now = retryAt;
    c = apply(c, admitConsecutive(c, now, s));
  }
  t.same(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]);
  c = apply(c, clear(c));
  t.ok(admitConsecutive(c, now, s).admit, 'a success starts afresh');
});

t.test('one IP across accounts: a window limit that blocks for the block time', async (t) => {
  let c = EMPTY;
  for (let i = 0; i < 50; i++) c = apply(c, admitWindow(c, 1000 + i, 50, 3600, 3600));
  const over = admitWindow(c, 2000, 50, 3600, 3600);
  t.notOk(over.admit);
  t.equal((over as { retryAt: number }).retryAt, 2000 + 3600_000);
  c = apply(c, over);
  t.notOk(admitWindow(c, 2000 + 3599_000, 50, 3600, 3600).admit, 'still blocked');
  t.ok(admitWindow(c, 2000 + 3600_000, 50, 3600, 3600).admit, 'free again after the block');
  let d = EMPTY;
  d = apply(d, admitWindow(d, 0, 2, 60, 60));
  d = apply(d, refund(d));
  t.equal(d.count, 0, 'a success is refunded');
  const late = admitWindow({ ...EMPTY, count: 49, windowStart: 0 }, 3600_000, 50, 3600, 3600);
  t.equal(late.admit && late.next.count, 1, 'a new window starts the count again');
});

t.test('one account from anywhere: locked every 20 failures, 15 minutes doubling, capped at 24 hours', async (t) => {
  let c = EMPTY;
  let now = 0;
  const locks: number[] = [];
  for (let i = 1; i <= 200; i++) {
    let d = admitAccount(c, now, s);
    if (!d.admit) {
      now = d.retryAt;
      d = admitAccount(c, now, s);
    }
    t.ok(d.admit);
    c = apply(c, d);
    if (c.lockedUntil > now) locks.push((c.lockedUntil - now) / 60_000);
  }
  t.same(locks.slice(0, 9), [15, 30, 60, 120, 240, 480, 960, 1440, 1440], 'minutes');
  t.equal(c.count, 200, 'consecutive failures keep counting for the NIST limit');
});

t.test('IP units: IPv4 as is, IPv6 per /64; bans by address or range', async (t) => {
  t.equal(ipUnit('203.0.113.9'), '203.0.113.9');
  t.equal(ipUnit('::ffff:203.0.113.9'), '203.0.113.9');
  t.equal(ipUnit('2001:db8:1:2:aaaa::1'), ipUnit('2001:db8:1:2:ffff:ffff:ffff:ffff'));
  t.not(ipUnit('2001:db8:1:2::1'), ipUnit('2001:db8:1:3::1'));
  t.equal(parseCidr('10.1.2.3/8'), '10.0.0.0/8');
  t.equal(parseCidr('nonsense'), undefined);
  t.ok(ipInCidr('10.9.9.9', '10.0.0.0/8'));
  t.notOk(ipInCidr('11.0.0.1', '10.0.0.0/8'));
  t.ok(ipInCidr('2001:db8::5', '2001:db8::/32'));
  t.notOk(ipInCidr('10.0.0.1', '2001:db8::/32'));
  t.ok(ipInCidr('192.0.2.1', '192.0.2.1'));
});
