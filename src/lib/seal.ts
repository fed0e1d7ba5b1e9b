import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption (AES-256-GCM) for short-lived server-side secrets at rest, with a key
 * derived (HKDF-SHA256) from the cookie-signing SECRETS and a purpose label. The first secret seals,
 * every secret opens (rotation: "first signs, all verify").
 */
const VERSION = 'v1';

function key(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gatehouse', `gatehouse:${purpose}`, 32));
}

export function seal(plaintext: string, secrets: readonly string[], purpose: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key(secrets[0]!, purpose), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The plaintext, or undefined when no secret opens it (tampered, or sealed with a dropped secret). */
export function unseal(sealed: string, secrets: readonly string[], purpose: string): string | undefined {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !iv || body === undefined || !tag) return undefined;
  for (const secret of secrets) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key(secret, purpose), Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // try the next secret
    }
  }
  return undefined;
}
