import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { generateSigningKey } from './generate-key.js';
import { readKeyring, writeKeyring, type Keyring, type Manifest } from './keyring-files.js';
import { tryKeyringLock, withKeyringLock } from './keyring-lock.js';
import { needsReplacement, planPrune, planRevocation, planRotation, rotationDue, type RotationTiming } from './rotation.js';
import { SIGNING_ALGS } from './schedule.js';

/**
 * The operator's keyring commands (CLI `keys rotate|revoke|prune`, automatic rotation): read under the
 * lock, plan with the pure functions in rotation.ts, write key files then the manifest atomically.
 */
export class KeyringMissing extends AppError {
  constructor(dir: string) {
    super('not_found', `no keyring in ${dir} (it is created at the first start)`);
    this.name = 'KeyringMissing';
  }
}

async function current(dir: string): Promise<Keyring> {
  const keyring = await readKeyring(dir);
  if (!keyring) throw new KeyringMissing(dir);
  return keyring;
}

export interface RotationResult {
  before: Manifest;
  after: Manifest;
  added: string[];
}

async function rotateLocked(dir: string, clock: Clock, timing: RotationTiming): Promise<RotationResult> {
  const before = (await current(dir)).manifest;
  const fresh = await Promise.all(SIGNING_ALGS.map((alg) => generateSigningKey(alg)));
  const after = planRotation(before, fresh, clock.now(), timing);
  await writeKeyring(dir, after, fresh);
  return { before, after, added: fresh.map((k) => k.kid) };
}

export function rotateKeys(dir: string, clock: Clock, timing: RotationTiming): Promise<RotationResult> {
  return withKeyringLock(dir, () => rotateLocked(dir, clock, timing));
}

/**
 * Automatic rotation (KEY_ROTATION_INTERVAL): whichever instance gets the lock first checks, under the
 * lock, that a rotation is still due and rotates; the others skip. Undefined when nothing was done.
 */
export async function rotateIfDue(dir: string, clock: Clock, timing: RotationTiming, intervalSeconds: number): Promise<RotationResult | undefined> {
  const keyring = await readKeyring(dir);
  if (!keyring || !rotationDue(keyring.manifest, clock.now(), intervalSeconds)) return undefined;
  return tryKeyringLock(dir, async () => {
    const fresh = await readKeyring(dir);
    if (!fresh || !rotationDue(fresh.manifest, clock.now(), intervalSeconds)) return undefined;
    return rotateLocked(dir, clock, timing);
  });
}

export class UnknownKid extends AppError {
  constructor(kid: string) {
    super('not_found', `no key with kid ${kid}`);
    this.name = 'UnknownKid';
  }
}

export async function revokeKey(dir: string, kid: string, clock: Clock): Promise<{ after: Manifest; replacement?: string }> {
  return withKeyringLock(dir, async () => {
    const { manifest } = await current(dir);
    if (!manifest.keys.some((e) => e.kid === kid)) throw new UnknownKid(kid);
    const now = clock.now();
    const alg = needsReplacement(manifest, kid, now);
    const replacement = alg ? await generateSigningKey(alg) : undefined;
    const after = planRevocation(manifest, kid, now, replacement);
    await writeKeyring(dir, after, replacement ? [replacement] : []);
    return { after, ...(replacement ? { replacement: replacement.kid } : {}) };
  });
}

export async function pruneKeys(dir: string, clock: Clock): Promise<{ after: Manifest; pruned: string[] }> {
  return withKeyringLock(dir, async () => {
    const { manifest } = await current(dir);
    const { manifest: after, pruned } = planPrune(manifest, clock.now());
    if (pruned.length === 0) return { after, pruned };
    // Manifest first: a crash between the two leaves orphan files (ignored), never a manifest
    // naming a missing file.
    await writeKeyring(dir, after, []);
    for (const kid of pruned) await unlink(join(dir, `${kid}.json`)).catch(() => {});
    return { after, pruned };
  });
}
