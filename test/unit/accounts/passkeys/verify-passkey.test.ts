import t from 'tap';
import { createMemoryPasskeyStore } from '../../../../src/accounts/passkeys/passkey-store.ts';
import type { PasskeyDeps } from '../../../../src/accounts/passkeys/passkey-deps.ts';
import { finishRegistration, startRegistration } from '../../../../src/accounts/passkeys/register-passkey.ts';
import { identify, startAuthentication, verifyPasskey } from '../../../../src/accounts/passkeys/verify-passkey.ts';
import { newUser, createMemoryUserRepository } from '../../../../src/accounts/users.ts';
import { createAuditLog, createMemoryAuditStore } from '../../../../src/observability/audit.ts';
import { createLogger } from '../../../../src/observability/logger.ts';
import { FIXED_START, steppableClock } from '../../../helpers/clock.ts';
import { softAuthenticator } from '../../../helpers/soft-authenticator.ts';

/**
 * verifyPasskey for one account (a passkey as the second factor after the password, wired at merge)
 * and discoverable, with the memory store and a fixed clock.
 */
const RP = { id: 'id.example.com', origin: 'https://id.example.com', name: 'Gatehouse' };

async function setup() {
  const clock = steppableClock(FIXED_START);
  const users = createMemoryUserRepository();
  const auditStore = createMemoryAuditStore();
  const deps: PasskeyDeps = { store: createMemoryPasskeyStore(), users, audit: createAuditLog(auditStore, createLogger('silent'), clock), clock, rp: RP };
  const enrol = async (email: string) => {
    const user = newUser({ email, passwordHash: 'x', now: clock.now(), emailVerifiedAt: clock.now() });
    await users.insert(user);
    const key = softAuthenticator(RP.id, RP.origin);
    const options = await startRegistration(deps, user, `session:${email}`);
    const result = await finishRegistration(deps, user, `session:${email}`, { credential: key.register(options), name: '' }, {});
    if (!result.ok) throw new Error(result.reason);
    return { user, key };
  };
  return { deps, clock, enrol, auditStore };
}

t.test('second factor: only the account’s own passkeys are asked for and accepted', async (t) => {
  const { deps, enrol } = await setup();
  const ann = await enrol('ann@example.com');
  const bob = await enrol('bob@example.com');
  const options = await startAuthentication(deps, 'mfa:1', { userId: ann.user.id });
  t.same(options.allowCredentials?.map((c) => c.id), [ann.key.credentialId], 'allow list: hers only');

  const wrong = await verifyPasskey(deps, (await identify(deps, bob.key.assert(options)))!, 'mfa:1', { userId: ann.user.id });
  t.same(wrong, { ok: false, reason: 'unknown_credential' }, "bob's passkey is not ann's second factor");

  const again = await startAuthentication(deps, 'mfa:1', { userId: ann.user.id });
  const right = await verifyPasskey(deps, (await identify(deps, ann.key.assert(again)))!, 'mfa:1', { userId: ann.user.id });
  t.match(right, { ok: true, amr: ['hwk', 'user', 'mfa'] });
});

t.test('a challenge issued for one account cannot be answered discoverably by another', async (t) => {
  const { deps, enrol } = await setup();
  const ann = await enrol('ann@example.com');
  const bob = await enrol('bob@example.com');
  const options = await startAuthentication(deps, 'mfa:2', { userId: ann.user.id });
  const result = await verifyPasskey(deps, (await identify(deps, bob.key.assert(options)))!, 'mfa:2', { discoverable: true });
  t.same(result, { ok: false, reason: 'unknown_credential' }, 'the challenge remembers whose it is');
});

t.test('a user handle naming another account is refused', async (t) => {
  const { deps, enrol } = await setup();
  const ann = await enrol('ann@example.com');
  const options = await startAuthentication(deps, 'login:1', { discoverable: true });
  const answer = JSON.parse(ann.key.assert(options));
  answer.response.userHandle = Buffer.from('someone-else').toString('base64url');
  const result = await verifyPasskey(deps, (await identify(deps, JSON.stringify(answer)))!, 'login:1', { discoverable: true });
  t.match(result, { ok: false, reason: 'invalid' });
});

t.test('registration: audited, a default name, and a registration challenge answers once', async (t) => {
  const { deps, enrol, auditStore } = await setup();
  const { user } = await enrol('ann@example.com');
  t.same((await deps.store.listByUser(user.id)).map((p) => p.name), ['Passkey 1']);
  t.equal(auditStore.events.filter((e) => e.type === 'passkey.registered').length, 1);
  const key = softAuthenticator(RP.id, RP.origin);
  const options = await startRegistration(deps, user, 'session:x');
  const answer = key.register(options);
  t.match(await finishRegistration(deps, user, 'session:x', { credential: answer, name: 'Phone' }, {}), { ok: true });
  t.same(await finishRegistration(deps, user, 'session:x', { credential: answer, name: 'Phone' }, {}), { ok: false, reason: 'challenge' });
});
