import t from 'tap';
import { parseAuthentication, parseRegistration } from '../../../../src/accounts/passkeys/browser-answer.ts';
import { claimedChallenge } from '../../../../src/accounts/passkeys/challenges.ts';
import { passkeyName } from '../../../../src/accounts/passkeys/register-passkey.ts';
import { relyingPartyOf } from '../../../../src/accounts/passkeys/relying-party.ts';

t.test('the relying party is the issuer: host name as RP ID (no port), origin with port', async (t) => {
  t.same(relyingPartyOf('https://id.example.com', 'Gatehouse'), { id: 'id.example.com', origin: 'https://id.example.com', name: 'Gatehouse' });
  t.same(relyingPartyOf('http://localhost:3000/', 'G'), { id: 'localhost', origin: 'http://localhost:3000', name: 'G' });
  t.same(relyingPartyOf('https://example.com/tenant-a', 'G'), { id: 'example.com', origin: 'https://example.com', name: 'G' }, 'a path is not part of the origin');
});

t.test('names: trimmed, control characters dropped, at most 60, a default when empty', async (t) => {
  t.equal(passkeyName('  Laptop  ', 1), 'Laptop');
  t.equal(passkeyName('Blue\u0000\u0007 key', 1), 'Blue key');
  t.equal(passkeyName('x'.repeat(100), 1).length, 60);
  t.equal(passkeyName('   ', 3), 'Passkey 3');
});

t.test('the challenge a clientDataJSON claims, or nothing', async (t) => {
  const data = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  t.equal(claimedChallenge(data({ type: 'webauthn.get', challenge: 'abc' })), 'abc');
  t.equal(claimedChallenge(data({ challenge: 5 })), undefined);
  t.equal(claimedChallenge(data({ challenge: 'x'.repeat(201) })), undefined, 'no endless challenge');
  t.equal(claimedChallenge('%%%not base64'), undefined);
  t.equal(claimedChallenge(Buffer.from('{"challenge":').toString('base64url')), undefined);
});

t.test('answers not shaped like WebAuthn credentials are refused before any lookup', async (t) => {
  const base = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30' } };
  const asserted = { ...base, response: { ...base.response, authenticatorData: 'AA', signature: 'AA' } };
  t.ok(parseAuthentication(JSON.stringify(asserted)));
  t.same(parseAuthentication(JSON.stringify(asserted))?.clientExtensionResults, {}, 'missing extension results become {}');
  t.notOk(parseAuthentication(JSON.stringify({ ...asserted, rawId: 'BBBB' })), 'rawId must be the id');
  t.notOk(parseAuthentication(JSON.stringify({ ...asserted, type: 'password' })));
  t.notOk(parseAuthentication(JSON.stringify({ ...asserted, id: 'a b' })), 'ids are base64url');
  t.notOk(parseAuthentication(JSON.stringify({ ...asserted, id: 'A'.repeat(1401), rawId: 'A'.repeat(1401) })), 'ids are bounded');
  t.notOk(parseAuthentication(JSON.stringify(base)), 'no signature');
  t.notOk(parseAuthentication('null'));
  t.notOk(parseAuthentication('{'));
  t.ok(parseRegistration(JSON.stringify({ ...base, response: { ...base.response, attestationObject: 'AA' } })));
  t.notOk(parseRegistration(JSON.stringify(asserted)), 'an assertion is not a registration');
});
