import t from 'tap';
import { signup } from '../../../src/accounts/signup.ts';
import { accountFakes } from '../../helpers/account-fakes.ts';

t.test('a new address: an unverified account, one hash, a verification mail after the answer', async (t) => {
  const f = accountFakes();
  await signup(f.deps, { email: '  Ana@Example.COM ', password: 'a quiet lantern harbour' }, { ip: '192.0.2.1', userAgent: 'test' });
  const user = await f.deps.users.findByEmail('ana@example.com');
  t.ok(user);
  t.equal(user!.status, 'active');
  t.equal(user!.emailVerifiedAt, null);
  t.same(f.hasher.calls, ['hash']);
  t.equal(f.mailer.sent.length, 0, 'no mail while the client waits');
  await f.drain();
  t.equal(f.mailer.sent.length, 1);
  const mail = f.mailer.sent[0]!;
  t.equal(mail.to, 'ana@example.com');
  t.equal(mail.subject, 'Confirm your email address');
  t.match(mail.link, /^https:\/\/id\.example\.com\/account\/verify-email\?token=[A-Za-z0-9_-]{43}$/);
  t.ok(mail.text.includes(mail.link!), 'the link is in the text');
  const [event] = f.auditStore.events;
  t.match(event, { type: 'signup.requested', email: 'ana@example.com', userId: user!.id, ip: '192.0.2.1', detail: { new_account: true } });
});

t.test('a taken address: the same work, no second account, a notice to the owner', async (t) => {
  const f = accountFakes();
  await signup(f.deps, { email: 'bo@example.com', password: 'a quiet lantern harbour' });
  await f.drain();
  const first = (await f.deps.users.findByEmail('bo@example.com'))!;
  f.hasher.calls.length = 0;
  await signup(f.deps, { email: 'BO@example.com', password: 'another good passphrase' });
  t.same(f.hasher.calls, ['hash'], 'a taken address costs the same hash');
  t.equal((await f.deps.users.list({ limit: 10, offset: 0 })).length, 1);
  t.equal((await f.deps.users.findByEmail('bo@example.com'))!.passwordHash, first.passwordHash, 'the account is not touched');
  await f.drain();
  t.equal(f.mailer.sent[1]!.subject, 'Finish creating your account', 'never confirmed: a link to choose the password');
  t.match(f.mailer.sent[1]!.link, /\/account\/password\/reset\?token=/);

  await f.deps.users.update(first.id, { emailVerifiedAt: f.clock.now() });
  await signup(f.deps, { email: 'bo@example.com', password: 'another good passphrase' });
  await f.drain();
  t.equal(f.mailer.sent[2]!.subject, 'You already have an account');
  t.equal(f.mailer.sent[2]!.link, 'https://id.example.com/account/password/forgot');
  t.same(f.auditStore.events.map((e) => e.detail.new_account), [true, false, false]);
});

t.test('bad input throws a 400 that says why, and writes nothing', async (t) => {
  const f = accountFakes();
  const cases: [unknown, unknown, RegExp, string, string][] = [
    ['not-an-email', 'a quiet lantern harbour', /^email: /, 'email', 'malformed'],
    [42, 'a quiet lantern harbour', /^email: must be a string/, 'email', 'not_a_string'],
    ['ok@example.com', 'short', /^password: .*at least 8/, 'password', 'too_short'],
    ['ok@example.com', 12345678, /^password: The password must be text/, 'password', 'not_text'],
    ['ok@example.com', 'qwerty123', /^password: .*most common/, 'password', 'too_common'],
    ['okay.name@example.com', 'okay.name!!2024', /^password: .*email/, 'password', 'contains_email'],
  ];
  for (const [email, password, message, field, reason] of cases) {
    await t.rejects(signup(f.deps, { email, password }), { name: 'FieldError', code: 'invalid_request', statusCode: 400, message, field, reason });
  }
  await f.drain();
  t.equal((await f.deps.users.list({ limit: 10, offset: 0 })).length, 0);
  t.equal(f.mailer.sent.length, 0);
  t.equal(f.auditStore.events.length, 0);
  t.same(f.hasher.calls, [], 'refused before any hash');
});
