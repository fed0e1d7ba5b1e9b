import type { Clock } from '../lib/clock.js';
import { generateSigningKey } from './generate-key.js';
import { createKeyringOnce, KeyringError, readKeyring, type Keyring } from './keyring-files.js';
import { SIGNING_ALGS } from './schedule.js';
import { assertUsableKeyring } from './usable-keyring.js';

/**
 * The keyring in `dir`, created on first start (an empty folder): one ES256 and one RS256 key,
 * active at once — there is no token anywhere yet, so there is nothing to pre-publish for. An
 * existing keyring without a signing key per algorithm is refused (usable-keyring.ts).
 */
export async function loadOrCreateKeyring(dir: string, clock: Clock): Promise<Keyring & { created: boolean }> {
  const existing = await readKeyring(dir);
  if (existing) {
    assertUsableKeyring(dir, existing, clock.now());
    return { ...existing, created: false };
  }
  const now = clock.now().toISOString();
  const keys = await Promise.all(SIGNING_ALGS.map((alg) => generateSigningKey(alg)));
  const created = await createKeyringOnce(
    dir,
    {
      version: 1,
      keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, use: 'sig', published_at: now, activates_at: now, retires_at: null, removed_at: null })),
    },
    keys,
  );
  const keyring = await readKeyring(dir);
  if (!keyring) throw new KeyringError(dir, 'the keyring could not be created here');
  return { ...keyring, created };
}
