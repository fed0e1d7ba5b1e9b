import t from 'tap';
import type { PrivateJwk } from '../../../src/keys/generate-key.ts';
import type { Manifest } from '../../../src/keys/keyring-files.ts';
import { jwksMaxAge, needsReplacement, planPrune, planRevocation, planRotation, rotationDue } from '../../../src/keys/rotation.ts';
import { keyState, nextChangeAt, signingKey, type KeyEntry } from '../../../src/keys/schedule.ts';
import { FIXED_START } from '../../helpers/clock.ts';

const T0 = FIXED_START.getTime();
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();
const entry = (kid: string, alg: 'ES256' | 'RS256', published: number, activates: number, retires: number | null = null, removed: number | null = null): KeyEntry => ({
  kid, alg, use: 'sig', published_at: iso(published), activates_at: iso(activates), retires_at: retires === null ? null : iso(retires), removed_at: removed === null ? null : iso(removed),
});
const fresh = (kid: string, alg: 'ES256' | 'RS256') => ({ kid, alg, use: 'sig', kty: alg === 'ES256' ? 'EC' : 'RSA', d: 'x' }) as PrivateJwk;
const start: Manifest = { version: 1, keys: [entry('es-1', 'ES256', 0, 0), entry('rs-1', 'RS256', 0, 0)] };

t.test('states follow the schedule and the clock', async (t) => {
  const e = entry('k', 'ES256', 0, 100, 200, 300);
  t.equal(keyState(e, at(50)), 'next');
  t.equal(keyState(e, at(100)), 'active', 'activation is inclusive');
  t.equal(keyState(e, at(250)), 'retired');
  t.equal(keyState(e, at(300)), 'removed');
  t.equal(nextChangeAt([e], at(50))?.toISOString(), iso(100));
  t.equal(nextChangeAt([e], at(300)), undefined);
});

t.test('rotation publishes now, activates after the window, retires and removes the old key', async (t) => {
  const after = planRotation(start, [fresh('es-2', 'ES256'), fresh('rs-2', 'RS256')], at(1000), { prepublish: 3600, keepRetired: 660 });
  const byKid = Object.fromEntries(after.keys.map((k) => [k.kid, k]));
  t.same(byKid['es-2'], entry('es-2', 'ES256', 1000, 4600));
  t.equal(byKid['es-1']!.retires_at, iso(4600), 'the old key retires when the new one activates');
  t.equal(byKid['es-1']!.removed_at, iso(4600 + 660), 'and is removed after the longest token lifetime plus skew');
  for (const [s, signer, published] of [
    [1000, 'es-1', ['es-1', 'es-2']],
    [4599, 'es-1', ['es-1', 'es-2']],
    [4600, 'es-2', ['es-1', 'es-2']],
    [5259, 'es-2', ['es-1', 'es-2']],
    [5260, 'es-2', ['es-2']],
  ] as const) {
    t.equal(signingKey(after.keys, 'ES256', at(s))?.kid, signer, `t=${s}: ${signer} signs`);
    t.same(after.keys.filter((k) => k.alg === 'ES256' && keyState(k, at(s)) !== 'removed').map((k) => k.kid), published, `t=${s}: published ${published.join(',')}`);
  }
});

t.test('rotate --now switches at once; a pending rotation is superseded, never left half-done', async (t) => {
  const immediate = planRotation(start, [fresh('es-2', 'ES256')], at(10), { prepublish: 0, keepRetired: 100 });
  t.equal(signingKey(immediate.keys, 'ES256', at(10))?.kid, 'es-2');
  t.equal(signingKey(immediate.keys, 'RS256', at(10))?.kid, 'rs-1', 'other algorithms untouched');
  const pending = planRotation(start, [fresh('es-2', 'ES256')], at(10), { prepublish: 3600, keepRetired: 100 });
  const again = planRotation(pending, [fresh('es-3', 'ES256')], at(20), { prepublish: 3600, keepRetired: 100 });
  t.equal(keyState(again.keys.find((k) => k.kid === 'es-2')!, at(20)), 'removed', 'the unused pending key is dropped');
  t.equal(signingKey(again.keys, 'ES256', at(20))?.kid, 'es-1', 'the old key still signs');
  t.equal(signingKey(again.keys, 'ES256', at(3620))?.kid, 'es-3');
  t.equal(again.keys.find((k) => k.kid === 'es-1')!.retires_at, iso(3620));
});

t.test('revocation removes at once and replaces a signing key', async (t) => {
  t.equal(needsReplacement(start, 'es-1', at(10)), 'ES256');
  const after = planRevocation(start, 'es-1', at(10), fresh('es-9', 'ES256'));
  t.equal(keyState(after.keys.find((k) => k.kid === 'es-1')!, at(10)), 'removed');
  t.equal(signingKey(after.keys, 'ES256', at(10))?.kid, 'es-9');
  const rotated = planRotation(start, [fresh('es-2', 'ES256')], at(0), { prepublish: 100, keepRetired: 100 });
  t.equal(needsReplacement(rotated, 'es-2', at(10)), undefined, 'a next key is not signing');
  t.same(planPrune(after, at(10)).pruned, ['es-1']);
  t.same(planPrune(after, at(10)).manifest.keys.map((k) => k.kid), ['rs-1', 'es-9']);
});

t.test('JWKS max-age never outlives half the window nor the next change', async (t) => {
  t.equal(jwksMaxAge(at(0), 3600, undefined), 1800);
  t.equal(jwksMaxAge(at(0), 3600, at(600)), 600);
  t.equal(jwksMaxAge(at(0), 3600, at(0)), 0);
  t.equal(jwksMaxAge(at(0), 0, undefined), 0, 'no pre-publication: no caching');
});

t.test('automatic rotation is due when the newest key of an algorithm is old enough', async (t) => {
  t.equal(rotationDue(start, at(99), 100), false);
  t.equal(rotationDue(start, at(100), 100), true);
});
