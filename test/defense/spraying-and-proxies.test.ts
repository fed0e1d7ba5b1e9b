import t from 'tap';
import { ARGON2_PARAMS } from '../../src/accounts/password-hasher.ts';
import { hash } from '@node-rs/argon2';
import { defenseCluster, REDIRECT } from '../helpers/defense.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { attemptLogin } from '../helpers/login.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { steppableClock } from '../helpers/clock.ts';
import { systemClock } from '../../src/lib/clock.ts';

t.test('password spraying from one IP across 200 accounts is blocked after the IP limit; another IP is not', async (t) => {
  const { first, configs, audit } = await defenseCluster(t, { kind: 'sqlite' });
  const phc = await hash('Winter2026!', ARGON2_PARAMS);
  const now = new Date();
  for (let i = 0; i < 200; i++) {
    await first.services.users.insert({ id: `u${i}`, email: `user${i}@example.com`, passwordHash: phc, status: 'active', banReason: null, bannedAt: null, emailVerifiedAt: now, passwordDisabledAt: null, createdAt: now, updatedAt: now });
  }
  const sprayer = new UserAgent({ 'x-forwarded-for': '198.51.100.66' });
  const statuses: number[] = [];
  for (let i = 0; i < 200; i++) statuses.push((await attemptLogin(configs[0]!, REDIRECT, sprayer, `user${i}@example.com`, 'Summer2026!')).status);
  const firstRefusal = statuses.indexOf(429);
  t.equal(firstRefusal, 50, 'IP_FAILURE_LIMIT (50) wrong passwords, then the IP is blocked');
  t.ok(statuses.slice(50).every((s) => s === 429), 'every later attempt refused, before any hash');
  const blocked = await audit('ip.blocked');
  t.equal(blocked.length, 1, 'the block is audited once');
  t.equal(blocked[0]!.ip, '198.51.100.66');

  const other = await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '203.0.113.9' }), 'user7@example.com', 'Winter2026!');
  t.equal(other.status, 303, 'a different IP is unaffected');
  const owner = await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '203.0.113.10' }), 'victim@example.com', PASSWORD);
  t.equal(owner.status, 303);
});

t.test('without TRUST_PROXY, forged X-Forwarded-For headers do not spread an attacker over addresses', async (t) => {
  // A clock that stands still between the attempts: the waits after the free attempts (seconds) must
  // not run out because the machine is slow (oidc-provider's interactions measure from real time).
  const clock = steppableClock(systemClock.now());
  const { configs, audit, victim } = await defenseCluster(t, { kind: 'sqlite', trustProxy: false, clock });
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const forged = new UserAgent({ 'x-forwarded-for': `10.0.${i}.${i + 1}`, forwarded: `for=10.1.${i}.1` });
    statuses.push((await attemptLogin(configs[0]!, REDIRECT, forged, victim.email, `wrong-${i}`)).status);
  }
  t.same(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
  t.ok(statuses.slice(5).every((s) => s === 429), 'throttled as the one socket address it is');
  const events = await audit('login.failed', victim.email);
  t.ok(events.every((e) => e.ip === '127.0.0.1'), 'the audit log names the real address');
});

t.test('with TRUST_PROXY, only the named proxy is believed', async (t) => {
  const { configs, audit, victim } = await defenseCluster(t, { kind: 'sqlite', env: { TRUST_PROXY: '10.9.9.9' } });
  await attemptLogin(configs[0]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '203.0.113.77' }), victim.email, 'wrong');
  const [event] = await audit('login.failed', victim.email);
  t.equal(event!.ip, '127.0.0.1', 'the socket (not a trusted proxy) is the client');
});
