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

t.test('the refusal comes before the body is read: any post to the form gets it, in the reader\'s language, logged once', async (t) => {
  const gh = await buildTestApp(t, { listen: true, clock: systemClock });
  const hasher = gh.services.hasher;
  const saturated = hasher.saturated;
  hasher.saturated = () => true;
  const post = (language: string, body: string) =>
    fetch(`${gh.issuer}/interaction/some-uid/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': language }, body });
  // No interaction, no cookie, no CSRF token, a body the form would refuse: none of it is looked at.
  // (Each refusal is held back a moment before it is sent: src/http/refusal-pace.ts.)
  const [english, again, german] = await Promise.all([post('en', 'csrf=forged&email=x'), post('en', 'not even a form'), post('de', '')]);
  for (const r of [english, again, german]) {
    t.equal(r.status, 503);
    t.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
    t.match(r.headers.get('content-type'), /^text\/html/);
    t.match(r.headers.get('content-security-policy'), /default-src 'none'/, 'the page headers');
  }
  const [en1, en2, de] = await Promise.all([english.text(), again.text(), german.text()]);
  t.equal(en1, en2, 'the same page for the same language');
  t.match(en1, /lang="en"/);
  t.match(de, /lang="de"/, 'in German for a German reader');
  t.not(en1, de);
  const lines = gh.logs.filter((l) => l.url === '/interaction/some-uid/login');
  t.equal(lines.length, 3, 'one access line per refusal');
  t.ok(lines.every((l) => l.status === 503));
  t.same(gh.logs.filter((l) => l.msg === 'request failed'), [], 'and no error with a stack besides: a refusal is not a failure');

  hasher.saturated = saturated;
  const forged = await post('en', 'csrf=forged&email=x&password=y');
  t.equal(forged.status, 403, 'with room again, the same post meets the CSRF check');
});
