import { hash as argonHash } from '@node-rs/argon2';
import t from 'tap';
import { authenticate } from '../../../src/accounts/authenticate.ts';
import { createPasswordHasher } from '../../../src/accounts/password-hasher.ts';
import { createMemoryUserRepository, type User } from '../../../src/accounts/users.ts';
import { FIXED_START, steppableClock } from '../../helpers/clock.ts';

const clock = steppableClock(FIXED_START);
const base = (passwordHash: string, changes: Partial<User> = {}): User => ({
  id: 'u-1', email: 'eve@example.com', passwordHash, status: 'active', banReason: null, bannedAt: null,
  emailVerifiedAt: clock.now(), passwordDisabledAt: null, createdAt: clock.now(), updatedAt: clock.now(), ...changes,
});

t.test('a hash made with older parameters is replaced at the next successful login', async (t) => {
  const hasher = createPasswordHasher();
  const users = createMemoryUserRepository();
  const old = await argonHash('a quiet lantern harbour', { algorithm: 2, memoryCost: 4096, timeCost: 3, parallelism: 1 });
  await users.insert(base(old));
  const deps = { users, hasher, clock, requireEmailVerification: true };
  t.equal((await authenticate(deps, 'eve@example.com', 'wrong password')).ok, false);
  t.equal((await users.findById('u-1'))!.passwordHash, old, 'a failed login changes nothing');
  t.equal((await authenticate(deps, 'eve@example.com', 'a quiet lantern harbour')).ok, true);
  const rehashed = (await users.findById('u-1'))!.passwordHash!;
  t.match(rehashed, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  t.ok(await hasher.verify(rehashed, 'a quiet lantern harbour'));
});

t.test('refusals: unknown and wrong are alike; banned and unverified only after the right password', async (t) => {
  const hasher = createPasswordHasher();
  const users = createMemoryUserRepository();
  const phc = await hasher.hash('a quiet lantern harbour');
  await users.insert(base(phc));
  await users.insert(base(phc, { id: 'u-2', email: 'ban@example.com', status: 'banned' }));
  await users.insert(base(phc, { id: 'u-3', email: 'new@example.com', emailVerifiedAt: null }));
  const deps = { users, hasher, clock, requireEmailVerification: true };
  t.same(await authenticate(deps, 'nobody@example.com', 'a quiet lantern harbour'), { ok: false, reason: 'invalid_credentials' });
  t.same(await authenticate(deps, 'ban@example.com', 'wrong password'), { ok: false, reason: 'invalid_credentials' });
  t.match(await authenticate(deps, 'ban@example.com', 'a quiet lantern harbour'), { ok: false, reason: 'banned' });
  t.match(await authenticate(deps, 'new@example.com', 'a quiet lantern harbour'), { ok: false, reason: 'unverified' });
  t.match(await authenticate({ ...deps, requireEmailVerification: false }, 'new@example.com', 'a quiet lantern harbour'), { ok: true });
});
