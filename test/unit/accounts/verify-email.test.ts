import t from 'tap';
import { checkOneTimeToken } from '../../../src/accounts/check-token.ts';
import { signup } from '../../../src/accounts/signup.ts';
import { resendVerification, verifyEmail } from '../../../src/accounts/verify-email.ts';
import { accountFakes, tokenOf } from '../../helpers/account-fakes.ts';

async function signedUp() {
  const f = accountFakes();
  await signup(f.deps, { email: 'cy@example.com', password: 'a quiet lantern harbour' });
  await f.drain();
  return { f, token: tokenOf(f.mailer.sent[0]!.link), user: (await f.deps.users.findByEmail('cy@example.com'))! };
}

t.test('the token confirms the address once; checking it first consumes nothing', async (t) => {
  const { f, token, user } = await signedUp();
  t.same(await checkOneTimeToken(f.deps, token, 'verify_email'), { ok: true });
  t.same(await checkOneTimeToken(f.deps, token, 'reset_password'), { ok: false, reason: 'invalid' });
  const result = await verifyEmail(f.deps, token, { ip: '192.0.2.9' });
  t.equal(result.ok, true);
  t.same((await f.deps.users.findById(user.id))!.emailVerifiedAt, f.clock.now());
  t.same(await verifyEmail(f.deps, token), { ok: false, reason: 'used' });
  t.same(await checkOneTimeToken(f.deps, token, 'verify_email'), { ok: false, reason: 'used' });
  t.match(f.auditStore.events.at(-1), { type: 'email.verified', userId: user.id, ip: '192.0.2.9' });
});

t.test('malformed, unknown and expired tokens say which', async (t) => {
  const { f, token } = await signedUp();
  for (const bad of [undefined, 42, '', 'short', `${token}x`, token.replace(/./, '!')]) {
    t.same(await verifyEmail(f.deps, bad), { ok: false, reason: 'invalid' }, `${String(bad).slice(0, 10)}: invalid`);
  }
  t.same(await verifyEmail(f.deps, 'A'.repeat(43)), { ok: false, reason: 'invalid' });
  f.clock.advance(24 * 3600);
  t.same(await verifyEmail(f.deps, token), { ok: false, reason: 'expired' });
});

t.test('sending again: a new link, older ones die once one is used; nothing for a confirmed account', async (t) => {
  const { f, token, user } = await signedUp();
  await resendVerification(f.deps, user.id);
  await f.drain();
  const second = tokenOf(f.mailer.sent[1]!.link);
  t.not(second, token);
  t.equal((await verifyEmail(f.deps, second)).ok, true);
  t.same(await verifyEmail(f.deps, token), { ok: false, reason: 'invalid' }, 'the older link was revoked');
  await resendVerification(f.deps, user.id);
  await resendVerification(f.deps, 'no-such-user');
  await f.drain();
  t.equal(f.mailer.sent.length, 2, 'no mail for a confirmed or unknown account');
});
