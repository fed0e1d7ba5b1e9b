import t from 'tap';
import { steppableClock } from '../helpers/clock.ts';
import { defenseCluster, REDIRECT } from '../helpers/defense.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { attemptLogin } from '../helpers/login.ts';
import { readOutbox } from '../helpers/outbox.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { systemClock } from '../../src/lib/clock.ts';

// Small limits: the password is disabled after 6 failures; no temporary lock gets in the way.
const DISABLE_AFTER = 6;
const env = { PASSWORD_DISABLE_AFTER: String(DISABLE_AFTER), ACCOUNT_LOCK_AFTER: '1000' };

t.test('no lockout button: failures from elsewhere disable the password for unknown browsers only', async (t) => {
  // Wall time: the in-process server's oidc-provider and its keyring (seeded a day back) measure real time.
  const clock = steppableClock(systemClock.now());
  const { configs, audit, victim } = await defenseCluster(t, { kind: 'sqlite', env, clock });
  const login = (ua: UserAgent, password: string) => attemptLogin(configs[0]!, REDIRECT, ua, victim.email, password);
  // One answer that is not "wait": a 429 is waited out on the test clock (per-device delays).
  const answer = async (ua: UserAgent, password: string) => {
    for (;;) {
      const r = await login(ua, password);
      if (r.status !== 429) return r;
      clock.advance(Number(r.retryAfter));
    }
  };
  const owner = new UserAgent({ 'x-forwarded-for': '192.0.2.10' });
  const laptop = new UserAgent({ 'x-forwarded-for': '192.0.2.11' });
  t.equal((await login(owner, PASSWORD)).status, 303, 'the owner signs in (the browser keeps a device cookie)');
  t.equal((await login(laptop, PASSWORD)).status, 303, 'and on a second browser');

  for (let i = 0; i < DISABLE_AFTER; i++) {
    const r = await login(new UserAgent({ 'x-forwarded-for': `198.51.100.${i + 1}` }), `guess-${i}`);
    t.equal(r.status, 401, `attacker failure #${i + 1}`);
  }
  t.equal((await audit('user.password_disabled', victim.email)).length, 1, 'the password is disabled at the limit');

  const stranger = await login(new UserAgent({ 'x-forwarded-for': '203.0.113.5' }), PASSWORD);
  t.equal(stranger.status, 403, 'an unknown browser with the right password is refused');
  t.match(stranger.body, /disabled after too many failed sign-ins/);
  t.equal((await login(owner, PASSWORD)).status, 303, 'the owner’s known browser with the right password still gets in');

  // A trusted browser's own failures never disable the password for the others…
  for (let i = 0; i < DISABLE_AFTER - 1; i++) t.equal((await answer(laptop, `typo-${i}`)).status, 401);
  t.equal((await audit('user.password_disabled', victim.email)).length, 1, 'no second disable from a device’s failures');
  t.equal((await answer(laptop, PASSWORD)).status, 303, 'a known browser below the limit still signs in (and starts afresh)');

  // …but one that fails PASSWORD_DISABLE_AFTER times in a row itself is just another unknown browser.
  for (let i = 0; i < DISABLE_AFTER; i++) t.equal((await answer(laptop, `typo-again-${i}`)).status, 401);
  t.equal((await answer(laptop, PASSWORD)).status, 403, 'it lost its trust: the disabled password applies to it');
  t.equal((await answer(owner, PASSWORD)).status, 303, 'the other known browser is unaffected');
});

t.test('failures that reach the limit at once disable the password once: one audit event, one mail', async (t) => {
  // Two instances on one PostgreSQL database; every attempt from an address of its own, all in
  // flight together, so several of them see the account's count at or past the limit when their
  // wrong password is known.
  const { apps, configs, audit, victim } = await defenseCluster(t, { instances: 2, env });
  const attempts = Array.from({ length: DISABLE_AFTER + 6 }, (_, i) =>
    attemptLogin(configs[i % 2]!, REDIRECT, new UserAgent({ 'x-forwarded-for': `198.51.100.${i + 1}` }), victim.email, `guess-${i}`),
  );
  const statuses = (await Promise.all(attempts)).map((r) => r.status);
  t.same([...new Set(statuses)], [401], `every attempt is a wrong password: ${statuses.join(', ')}`);
  t.equal((await audit('login.failed', victim.email)).length, DISABLE_AFTER + 6, 'each failure is recorded');
  t.equal((await audit('user.password_disabled', victim.email)).length, 1, 'the password is disabled once');
  // The owner's mail leaves in the background of the request that disabled the password: wait for
  // every instance's background work, then count (no timed polling).
  await Promise.all(apps.map((app) => app.services.background.idle()));
  const mails = (await Promise.all(apps.map((app) => readOutbox(app.config.dataDir)))).flat().filter((m) => m.to === victim.email);
  t.equal(mails.length, 1, 'and its owner gets one mail');
});
