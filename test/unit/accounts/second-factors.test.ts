import { Secret, TOTP } from 'otpauth';
import t from 'tap';
import { createMemoryMailer } from '../../../src/accounts/mailer.ts';
import { createMemoryMfaStore } from '../../../src/accounts/mfa/mfa-store.ts';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from '../../../src/accounts/mfa/recovery-codes.ts';
import { checkSecondFactor, confirmTotpEnrolment, startTotpEnrolment, type SecondFactorDeps } from '../../../src/accounts/mfa/second-factors.ts';
import { matchTotp, totpStep } from '../../../src/accounts/mfa/totp.ts';
import { newUser } from '../../../src/accounts/users.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import { createMemoryIpBanRepository } from '../../../src/guard/bans.ts';
import { createMemoryAttemptStore } from '../../../src/guard/counter.ts';
import { createLoginGuard } from '../../../src/guard/login-guard.ts';
import { unseal } from '../../../src/lib/seal.ts';
import { createAuditLog, createMemoryAuditStore } from '../../../src/observability/audit.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { FIXED_START, steppableClock } from '../../helpers/clock.ts';

const OLD = 'an-old-secret-that-is-long-enough-000001';
const NEW = 'a-new-secret-that-is-long-enough-0000002';

function deps(secrets: string[], shared?: Pick<SecondFactorDeps, 'mfa' | 'clock'>): SecondFactorDeps {
  const clock = shared?.clock ?? steppableClock(FIXED_START);
  return {
    mfa: shared?.mfa ?? createMemoryMfaStore(),
    guard: createLoginGuard({ store: createMemoryAttemptStore(), bans: createMemoryIpBanRepository(), clock, settings: loadConfig({}).guard }),
    secrets,
    clock,
    audit: createAuditLog(createMemoryAuditStore(), createLogger('silent'), clock),
    mailer: createMemoryMailer(),
    background: { run: (_name, task) => void task() },
    issuer: 'https://id.example.com',
    productName: 'Gatehouse',
    // Memory stores have no transactions; the real ones are in test/contract/mfa-store.test.ts.
    atomically: (work) => work(),
  };
}

const user = newUser({ email: 'kai@example.com', passwordHash: 'x', now: FIXED_START, emailVerifiedAt: FIXED_START });
const who = { ip: '192.0.2.1' };

t.test('RFC 6238 codes: ±1 step accepted, the matching step reported, anything else refused', async (t) => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const app = new TOTP({ secret: Secret.fromBase32(secret) });
  const now = FIXED_START;
  const step = totpStep(now);
  t.equal(matchTotp(secret, app.generate({ timestamp: now.getTime() }), now), step);
  t.equal(matchTotp(secret, app.generate({ timestamp: now.getTime() - 30_000 }), now), step - 1, 'one step behind');
  t.equal(matchTotp(secret, app.generate({ timestamp: now.getTime() + 30_000 }), now), step + 1, 'one step ahead');
  t.equal(matchTotp(secret, app.generate({ timestamp: now.getTime() - 60_000 }), now), undefined, 'two steps behind');
  t.equal(matchTotp(secret, '12345', now), undefined);
  t.equal(matchTotp(secret, '12345a', now), undefined);
});

t.test('recovery codes: 10 distinct, 80 bits in Crockford base32, normalised as people type them', async (t) => {
  const codes = newRecoveryCodes();
  t.equal(new Set(codes).size, 10);
  for (const c of codes) t.match(c, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
  t.equal(normalizeRecoveryCode(` ${codes[0]!.toUpperCase().replace(/-/g, ' ')} `), codes[0]!.replace(/-/g, ''));
  t.equal(normalizeRecoveryCode('0123-4567-89ab-cdel'), undefined, 'l is not in the alphabet');
  t.equal(normalizeRecoveryCode('0123-4567'), undefined, 'too short');
  t.not(hashRecoveryCode('a'.repeat(16)), 'a'.repeat(16));
});

t.test('the key is sealed with the first SECRETS entry; after a rotation it still opens, and is sealed again with the new one', async (t) => {
  const before = deps([OLD]);
  const { secret } = await startTotpEnrolment(before, user);
  const sealed = (await before.mfa.findTotp(user.id))!.secret;
  t.notMatch(sealed, secret, 'not stored in the clear');
  t.equal(unseal(sealed, [OLD], 'totp-secret'), secret);
  t.equal(unseal(sealed, [NEW], 'totp-secret'), undefined);

  // SECRETS=NEW,OLD: the old sealing still opens; using it seals it again with NEW.
  const after = deps([NEW, OLD], before);
  const clock = after.clock as ReturnType<typeof steppableClock>;
  const app = new TOTP({ secret: Secret.fromBase32(secret) });
  await confirmTotpEnrolment(after, user, app.generate({ timestamp: clock.now().getTime() }), who);
  const resealed = (await after.mfa.findTotp(user.id))!.secret;
  t.not(resealed, sealed);
  t.equal(unseal(resealed, [NEW], 'totp-secret'), secret, 'opens with the new secret alone');

  // Now OLD can be dropped: codes still work.
  const only = deps([NEW], after);
  clock.advance(30);
  const result = await checkSecondFactor(only, { user, code: app.generate({ timestamp: clock.now().getTime() }), who });
  t.match(result, { ok: true, method: 'totp', amr: ['pwd', 'otp', 'mfa'] });
});
