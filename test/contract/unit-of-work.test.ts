import t from 'tap';
import { createUser } from '../../src/accounts/create-user.ts';
import { issueOneTimeToken } from '../../src/accounts/one-time-tokens.ts';
import { resetPassword } from '../../src/accounts/password-reset.ts';
import { verifyEmail } from '../../src/accounts/verify-email.ts';
import { banDependencies, banUser } from '../../src/admin/bans.ts';
import { createResource } from '../../src/admin/resources.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { databaseServices } from '../helpers/stores.ts';

/**
 * A use case's writes commit together on every database: a failure half-way (here injected into
 * its last step, as a dropped connection would) leaves nothing written, so the retry works.
 */
const PASSWORD = 'correct horse battery staple 9';
const dropped = () => Promise.reject(new Error('connection terminated'));

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: a password reset that cannot revoke the sessions did not happen; its link still works`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    const user = await createUser(s, { email: 'dee@example.com', password: PASSWORD, verified: true });
    const token = await issueOneTimeToken(s.accounts, user.id, 'reset_password');
    const failing = { ...s.accounts, revokeSessions: dropped };
    await t.rejects(resetPassword(failing, { token, password: 'a brand new passphrase' }), { message: 'connection terminated' });
    t.ok(await s.hasher.verify((await s.users.findById(user.id))!.passwordHash!, PASSWORD), 'the password is unchanged');
    t.same(await s.auditStore.query({ type: 'password.reset', limit: 5 }), [], 'nothing audited');
    t.match(await resetPassword(s.accounts, { token, password: 'a brand new passphrase' }), { ok: true }, 'the same link works');
  });

  t.test(`${kind}: an email confirmation that cannot be audited did not happen; its link still works`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    const user = await createUser(s, { email: 'eve@example.com', password: PASSWORD, verified: false });
    const token = await issueOneTimeToken(s.accounts, user.id, 'verify_email');
    await t.rejects(verifyEmail({ ...s.accounts, audit: { record: dropped } }, token), { message: 'connection terminated' });
    t.equal((await s.users.findById(user.id))!.emailVerifiedAt, null, 'not confirmed');
    t.match(await verifyEmail(s.accounts, token), { ok: true }, 'the same link works');
  });

  // On SQLite a transaction holds the writing connection from BEGIN to COMMIT; a plain read beside it
  // goes to the reading connection (src/persistence/database.ts). Were it queued behind the
  // transaction, which here only ends after the read, the transaction would time out and fail.
  t.test(`${kind}: a read beside an open transaction neither waits for it nor sees its uncommitted writes`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    const user = await createUser(s, { email: 'oscar@example.com', password: PASSWORD, verified: true });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const transaction = s.atomically(async () => {
      await s.users.update(user.id, { banReason: 'written inside' });
      entered();
      await gate;
    });
    await inside;
    t.equal((await s.users.findById(user.id))!.banReason, null, 'the read answers while the transaction is open, without its write');
    release();
    await transaction;
    t.equal((await s.users.findById(user.id))!.banReason, 'written inside', 'committed: now visible');
  });

  t.test(`${kind}: an admin operation whose audit row cannot be written did not happen`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    const failingAudit = { record: dropped };
    const deps = { resources: s.resources, clients: s.clients, audit: failingAudit, clock: s.clock, atomically: s.atomically };
    await t.rejects(createResource(deps, { audience: 'https://orders.example.com', scope: 'read' }), { message: 'connection terminated' });
    t.equal(await s.resources.find('https://orders.example.com'), undefined, 'no API registered');
    t.match(await createResource({ ...deps, audit: s.audit }, { audience: 'https://orders.example.com', scope: 'read' }), { audience: 'https://orders.example.com' }, 'the retry registers it (no conflict)');

    const user = await createUser(s, { email: 'mallory@example.com', password: PASSWORD, verified: true });
    await s.oidcStore.upsert('Session', 'session-1', { jti: 'session-1', uid: 'u1', accountId: user.id }, 600);
    const ban = { ...banDependencies(s, 'test'), revokeSessions: dropped };
    await t.rejects(banUser(ban, user.email), { message: 'connection terminated' });
    t.equal((await s.users.findById(user.id))!.status, 'active', 'not banned');
    t.match(await banUser(banDependencies(s, 'test'), user.email), { status: 'banned', revoked: 1 }, 'the retry bans and revokes');
    t.equal(await s.oidcStore.find('Session', 'session-1'), undefined);
  });
}
