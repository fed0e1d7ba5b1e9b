import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import t from 'tap';
import { seal, unseal } from '../../../src/lib/seal.ts';

const SECRETS = ['first secret of at least thirty-two characters', 'older secret of at least thirty-two chars'];

t.test('sealed text opens with the first secret or an older one, under its own purpose only', async (t) => {
  const sealed = seal('{"refresh_token":"x"}', SECRETS, 'refresh-grace');
  t.equal(unseal(sealed, SECRETS, 'refresh-grace'), '{"refresh_token":"x"}');
  t.equal(unseal(sealed, [SECRETS[1]!, SECRETS[0]!], 'refresh-grace'), '{"refresh_token":"x"}', 'any listed secret opens it');
  t.equal(unseal(sealed, [SECRETS[1]!], 'refresh-grace'), undefined, 'a dropped secret does not');
  t.equal(unseal(sealed, SECRETS, 'another-purpose'), undefined, 'another purpose does not');
});

t.test('tampering and truncated tags are refused', async (t) => {
  const sealed = seal('hello', SECRETS, 'p');
  const [version, iv, body, tag] = sealed.split('.') as [string, string, string, string];
  t.equal(Buffer.from(tag, 'base64url').length, 16, 'a full 16-byte tag');
  const flipped = Buffer.from(body, 'base64url');
  flipped[0]! ^= 1;
  t.equal(unseal([version, iv, flipped.toString('base64url'), tag].join('.'), SECRETS, 'p'), undefined, 'a changed body');
  for (const bytes of [4, 8, 12, 15]) {
    const short = Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url');
    t.equal(unseal([version, iv, body, short].join('.'), SECRETS, 'p'), undefined, `a tag cut to ${bytes} bytes`);
  }
  // What an attacker can build: a ciphertext with a genuine but 4-byte GCM tag under the right key
  // (here made with the key itself, to show the length alone is refused).
  const key = Buffer.from(hkdfSync('sha256', SECRETS[0]!, 'gatehouse', 'gatehouse:p', 32));
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 4 });
  const forged = Buffer.concat([cipher.update('evil', 'utf8'), cipher.final()]);
  t.equal(unseal(['v1', nonce.toString('base64url'), forged.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.'), SECRETS, 'p'), undefined, 'a valid 4-byte tag');
  t.equal(unseal('v2.a.b.c', SECRETS, 'p'), undefined, 'an unknown version');
  t.equal(unseal('garbage', SECRETS, 'p'), undefined, 'garbage');
});
