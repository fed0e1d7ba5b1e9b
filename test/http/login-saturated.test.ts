import t from 'tap';
import { systemClock } from '../../src/lib/clock.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { attemptLogin } from '../helpers/login.ts';
import { relyingParty } from '../helpers/relying-party.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * When every hashing slot is busy and the queue is full, a sign-in form post is refused at once,
 * before any database work (the lookups a refused attempt used to make cost the event loop what
 * token requests need under a flood): 503 with Retry-After and a readable page, nothing counted
 * against the address or the account, and the same person signs in once there is room.
 */
const REDIRECT = 'https://app.example.com/callback';
const EMAIL = 'nora@example.com';

t.test('a sign-in while the hashing queue is full: 503 at once, no lookup, nothing counted', async (t) => {
  const gh = await buildTestApp(t, { listen: true, clock: systemClock });
  const client = await registerClient(gh.services, { name: 'Web app', redirectUris: [REDIRECT], grants: ['authorization_code'] });
  const config = await relyingParty(gh, client);
  await createVerifiedUser(gh.services, EMAIL, PASSWORD);

  const hasher = gh.services.hasher;
  const saturated = hasher.saturated;
  const users = gh.services.users;
  const findByEmail = users.findByEmail;
  let lookups = 0;
  users.findByEmail = (email) => ((lookups += 1), findByEmail.call(users, email));
  hasher.saturated = () => true;
  const counters = async () => gh.db.prisma.attemptCounter.count();
  const before = await counters();

  const refused = await attemptLogin(config, REDIRECT, new UserAgent(), EMAIL, PASSWORD);
  t.equal(refused.status, 503);
  t.ok(Number(refused.retryAfter) > 0, `Retry-After: ${refused.retryAfter}`);
  t.match(refused.body, /<html/i, 'a page, not a stack trace');
  t.notMatch(refused.body, /at \w+ \(|Error:/, 'no stack');
  t.equal(lookups, 0, 'the account was not looked up');
  t.equal(await counters(), before, 'no counter written for the address or the account');
  t.same(await gh.services.auditStore.query({ type: 'login.failed', limit: 5 }), [], 'no failed sign-in audited');

  hasher.saturated = saturated;
  const admitted = await attemptLogin(config, REDIRECT, new UserAgent(), EMAIL, PASSWORD);
  t.match(admitted.status, /^30[23]$/, 'with room again, the same person signs in');
  t.equal(lookups, 1, 'and that sign-in looked the account up');
});
