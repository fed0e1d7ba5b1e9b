import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Authenticated encryption (AES-256-GCM) for short-lived server-side secrets at rest, with a key
 * derived (HKDF-SHA256) from the cookie-signing SECRETS and a purpose label. The first secret seals,
 * every secret opens (rotation: "first signs, all verify").
 */
const VERSION = 'v1';
/** GCM's full 16-byte tag; Node would otherwise accept a truncated one (as short as 4 bytes), which
 * makes forging far easier. */
const TAG_BYTES = 16;

/** Derived keys by purpose and secret: HKDF once per pair, not on every seal (the refresh grant seals
 * each response). SECRETS and the purposes are a handful of fixed strings, so this stays small. */
const keys = new Map<string, Map<string, KeyObject>>();

function key(secret: string, purpose: string): KeyObject {
  let byPurpose = keys.get(purpose);
  if (!byPurpose) keys.set(purpose, (byPurpose = new Map()));
  let derived = byPurpose.get(secret);
  if (!derived) {
    derived = createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'gatehouse', `gatehouse:${purpose}`, 32)));
    // Secrets dropped in a rotation are not kept forever.
    if (byPurpose.size >= 16) byPurpose.clear();
    byPurpose.set(secret, derived);
  }
  return derived;
}

export function seal(plaintext: string, secrets: readonly string[], purpose: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key(secrets[0]!, purpose), iv, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The plaintext, or undefined when no secret opens it (tampered, or sealed with a dropped secret). */
export function unseal(sealed: string, secrets: readonly string[], purpose: string): string | undefined {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !iv || body === undefined || !tag) return undefined;
  const authTag = Buffer.from(tag, 'base64url');
  if (authTag.length !== TAG_BYTES) return undefined;
  for (const secret of secrets) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key(secret, purpose), Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(authTag);
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // try the next secret
    }
  }
  return undefined;
}
