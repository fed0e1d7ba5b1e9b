import t from 'tap';
import { requestPasswordReset, resetPassword } from '../../../src/accounts/password-reset.ts';
import type { User } from '../../../src/accounts/users.ts';
import { accountFakes, tokenOf } from '../../helpers/account-fakes.ts';

async function withUser(changes: Partial<User> = {}) {
  const f = accountFakes();
  const now = f.clock.now();
  const user: User = {
    id: 'u-1', email: 'dee@example.com', passwordHash: await f.deps.hasher.hash('the old passphrase'), status: 'active', banReason: null,
    bannedAt: null, emailVerifiedAt: null, passwordDisabledAt: now, createdAt: now, updatedAt: now, ...changes,
  };
  await f.deps.users.insert(user);
  f.hasher.calls.length = 0;
  return { f, user };
}

t.test('a request: the same answer and work for known and unknown addresses; a mail only for accounts', async (t) => {
  const { f } = await withUser();
  await requestPasswordReset(f.deps, { email: 'DEE@example.com' });
  await requestPasswordReset(f.deps, { email: 'nobody@example.com' });
  t.same(f.hasher.calls, [], 'no hash on either side');
  t.equal(f.queued.length, 1, 'token and mail wait for the background');
  t.same(f.auditStore.events.map((e) => [e.type, e.email, e.detail.known]), [
    ['password.reset_requested', 'dee@example.com', true],
    ['password.reset_requested', 'nobody@example.com', false],
  ]);
  await f.drain();
  t.same(f.mailer.sent.map((m) => [m.to, m.subject]), [['dee@example.com', 'Reset your password']]);
  await t.rejects(requestPasswordReset(f.deps, { email: 'x\r\nBcc: y@example.com' }), { name: 'FieldError', statusCode: 400, field: 'email', reason: 'invisible_characters' });
});

t.test('a reset: new password, sessions revoked, older links dead, password enabled, address confirmed', async (t) => {
  const { f, user } = await withUser();
  await requestPasswordReset(f.deps, { email: 'dee@example.com' });
  await requestPasswordReset(f.deps, { email: 'dee@example.com' });
  await f.drain();
  const [older, newer] = f.mailer.sent.map((m) => tokenOf(m.link));
  f.clock.advance(60);
  const result = await resetPassword(f.deps, { token: newer, password: 'a brand new passphrase' }, { ip: '198.51.100.7' });
  t.equal(result.ok, true);
  const after = (await f.deps.users.findById(user.id))!;
  t.ok(await f.deps.hasher.verify(after.passwordHash!, 'a brand new passphrase'));
  t.equal(after.passwordDisabledAt, null);
  t.same(after.emailVerifiedAt, f.clock.now(), 'the mail reached the address: it counts as confirmed');
  t.same(f.revoked, [user.id], 'every session and grant revoked');
  t.same(await resetPassword(f.deps, { token: newer, password: 'another passphrase' }), { ok: false, reason: 'used' });
  t.same(await resetPassword(f.deps, { token: older, password: 'another passphrase' }), { ok: false, reason: 'invalid' });
  t.match(f.auditStore.events.at(-1), { type: 'password.reset', userId: user.id, ip: '198.51.100.7', detail: { revoked: 3 } });
  await f.drain();
  t.equal(f.mailer.sent.at(-1)!.subject, 'Your password was changed');
});

t.test('a refused password keeps the link usable; an expired link says so', async (t) => {
  const { f, user } = await withUser();
  await requestPasswordReset(f.deps, { email: 'dee@example.com' });
  await f.drain();
  const token = tokenOf(f.mailer.sent[0]!.link);
  await t.rejects(resetPassword(f.deps, { token, password: 'dee@example.com!' }), { statusCode: 400, message: /email/ });
  await t.rejects(resetPassword(f.deps, { token, password: 'password' }), { statusCode: 400, message: /most common/ });
  t.same(f.revoked, [], 'nothing revoked');
  f.clock.advance(30 * 60);
  t.same(await resetPassword(f.deps, { token, password: 'a brand new passphrase' }), { ok: false, reason: 'expired' });
  t.ok(await f.deps.hasher.verify((await f.deps.users.findById(user.id))!.passwordHash!, 'the old passphrase'), 'unchanged');
});
