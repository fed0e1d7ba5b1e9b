import t from 'tap';
import { PASSWORD } from '../helpers/fixtures.ts';
import { defenseCluster, REDIRECT } from '../helpers/defense.ts';
import { attemptLogin } from '../helpers/login.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * A distributed brute force on one account: 60 addresses (through the trusted proxy), 3 guesses each,
 * spread over two instances sharing PostgreSQL. The password is verified for the victim at most
 * ACCOUNT_LOCK_AFTER times before the account lock holds the rest off — while the real user, on a
 * browser that has logged in before, keeps getting in.
 */
t.test('brute force from many IPs over two instances: bounded verifications; the real user still gets in', async (t) => {
  const { configs, audit, victim } = await defenseCluster(t, { instances: 2 });
  const owner = new UserAgent({ 'x-forwarded-for': '192.0.2.10' });
  const first = await attemptLogin(configs[0]!, REDIRECT, owner, victim.email, PASSWORD);
  t.equal(first.status, 303, 'the owner logs in before the attack (and the browser keeps a device cookie)');
  t.ok(owner.cookie('gatehouse_device'));

  const outcomes: Record<number, number> = {};
  let ownerSuccesses = 0;
  const attackers = Array.from({ length: 60 }, (_, i) => new UserAgent({ 'x-forwarded-for': `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
  const attack = Promise.all(
    attackers.map(async (ua, i) => {
      for (let guess = 0; guess < 3; guess++) {
        const r = await attemptLogin(configs[(i + guess) % 2]!, REDIRECT, ua, victim.email, `guess-${i}-${guess}-wrong`);
        outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
      }
    }),
  );
  const ownerLoop = (async () => {
    for (let round = 0; round < 6; round++) {
      const r = await attemptLogin(configs[round % 2]!, REDIRECT, owner, victim.email, PASSWORD);
      if (r.status === 303) ownerSuccesses += 1;
      else t.fail(`the owner was refused during the attack (${r.status}: ${/class="error"[^>]*>([^<]*)/.exec(r.body)?.[1]})`);
    }
  })();
  await Promise.all([attack, ownerLoop]);

  const verified = (await audit('login.failed', victim.email)).filter((e) => e.detail.reason === 'invalid_credentials').length;
  const throttled = (await audit('login.throttled', victim.email)).length;
  t.comment(`attack: 180 guesses → ${JSON.stringify(outcomes)}; password verified for wrong guesses ${verified} times; ${throttled} refused before hashing; owner ${ownerSuccesses}/6 logins`);
  t.ok(verified <= 20, `at most ACCOUNT_LOCK_AFTER (20) wrong passwords were checked (${verified})`);
  t.equal(verified + throttled, 180, 'every guess is accounted for: checked or refused');
  t.ok(outcomes[429]! >= 160, 'the rest were refused with 429');
  t.equal(ownerSuccesses, 6, 'the owner got in every time');
  const locks = await audit('user.locked', victim.email);
  t.equal(locks.length, 1, 'one lock, audited');
  t.ok((await audit('login.succeeded', victim.email)).every((e) => e.ip === '192.0.2.10'), 'successes are the owner’s, from the owner’s IP');
});

t.test('50 simultaneous wrong passwords on one account through two instances: exactly the limit gets through', async (t) => {
  // The first wait after the free attempts is long enough that no attempt of this test outlasts it,
  // however slowly a busy machine delivers the fifty requests.
  const { configs, audit, victim } = await defenseCluster(t, { instances: 2, env: { LOGIN_BASE_DELAY: '15m' } });
  // Each attempt needs a login page first; fetch them all, then post all passwords at once.
  const same = await Promise.all(Array.from({ length: 50 }, (_, i) => attemptLogin(configs[i % 2]!, REDIRECT, new UserAgent({ 'x-forwarded-for': '203.0.113.50' }), victim.email, `wrong-${i}`)));
  t.equal(same.filter((r) => r.status === 401).length, 5, 'one IP: LOGIN_FREE_ATTEMPTS (5) reach the password check');
  t.equal(same.filter((r) => r.status === 429).length, 45);
  t.ok(same.filter((r) => r.status === 429).every((r) => Number(r.retryAfter) >= 1), 'with Retry-After');
  const spread = await Promise.all(Array.from({ length: 50 }, (_, i) => attemptLogin(configs[i % 2]!, REDIRECT, new UserAgent({ 'x-forwarded-for': `203.0.113.${100 + i}` }), victim.email, `wrong-${i}`)));
  const checked = (await audit('login.failed', victim.email)).filter((e) => e.detail.reason === 'invalid_credentials').length;
  t.comment(`50 IPs at once: ${spread.filter((r) => r.status === 401).length} checked, ${spread.filter((r) => r.status === 429).length} refused; total checked ${checked}`);
  t.equal(checked, 20, 'from many IPs: exactly ACCOUNT_LOCK_AFTER (20) in all, then the lock');
});
