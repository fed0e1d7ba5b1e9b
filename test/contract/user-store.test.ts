import t, { type Test } from 'tap';
import { createMemoryUserRepository, type User, type UserRepository } from '../../src/accounts/users.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { databaseServices, STORE_KINDS, type StoreKind } from '../helpers/stores.ts';

// The user repository's conditional write, alike on the reference implementation and both databases.

const account = (id: string): User => ({
  id,
  email: `${id}@example.com`,
  passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
  status: 'active',
  banReason: null,
  bannedAt: null,
  emailVerifiedAt: FIXED_START,
  passwordDisabledAt: null,
  createdAt: FIXED_START,
  updatedAt: FIXED_START,
});

async function users(t: Test, kind: StoreKind): Promise<UserRepository> {
  if (kind === 'memory') return createMemoryUserRepository();
  return (await databaseServices(t, kind, steppableClock(FIXED_START))).users;
}

for (const kind of STORE_KINDS) {
  t.test(`${kind}: disablePassword disables once and says which call did it`, async (t) => {
    const repo = await users(t, kind);
    t.ok(await repo.insert(account('u1')));
    t.ok(await repo.insert(account('u2')));
    const at = new Date(FIXED_START.getTime() + 60_000);
    t.equal(await repo.disablePassword('u1', at), true, 'the first call disables');
    t.same((await repo.findById('u1'))!.passwordDisabledAt, at, 'at the given instant');
    t.same((await repo.findById('u1'))!.updatedAt, at, 'and the row says it changed then');
    t.equal(await repo.disablePassword('u1', new Date(at.getTime() + 1_000)), false, 'a second call does nothing');
    t.same((await repo.findById('u1'))!.passwordDisabledAt, at, 'the first instant stays');
    t.equal((await repo.findById('u2'))!.passwordDisabledAt, null, 'another account is untouched');
    t.equal(await repo.disablePassword('nobody', at), false, 'an unknown account: false');
  });

  t.test(`${kind}: of ten calls at once, exactly one disables`, async (t) => {
    const repo = await users(t, kind);
    t.ok(await repo.insert(account('u3')));
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => repo.disablePassword('u3', new Date(FIXED_START.getTime() + i))));
    t.equal(answers.filter(Boolean).length, 1, `one winner: ${answers.join(', ')}`);
    t.same((await repo.findById('u3'))!.passwordDisabledAt, new Date(FIXED_START.getTime() + answers.indexOf(true)), "the winner's instant");
  });
}
