import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { randomToken } from '../lib/random.js';
import type { PrivateJwk } from './generate-key.js';
import { SIGNING_ALGS, type KeyEntry } from './schedule.js';

/**
 * The keyring folder: `manifest.json` (the schedule) plus `<kid>.json` per private key, all 0600,
 * each written to a temporary file, flushed and renamed into place, so a crash leaves the old or the
 * new state, never a half-written file. Key files are written before the manifest that names them.
 */
export const MANIFEST = 'manifest.json';

export interface Manifest {
  version: 1;
  keys: KeyEntry[];
}

export interface Keyring {
  manifest: Manifest;
  keys: ReadonlyMap<string, PrivateJwk>;
}

/** A keyring file that cannot be used, named with what is wrong with it. */
export class KeyringError extends AppError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super('keyring_invalid', `${file}: ${problem}`);
    this.name = 'KeyringError';
  }
}

const KTY: Record<string, { kty: string; crv?: string }> = { ES256: { kty: 'EC', crv: 'P-256' }, RS256: { kty: 'RSA' } };

export async function readKeyring(dir: string): Promise<Keyring | undefined> {
  const manifestPath = join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new KeyringError(manifestPath, (err as Error).message);
    const strays = (await listSafe(dir)).filter((n) => n.endsWith('.json'));
    if (strays.length > 0) throw new KeyringError(manifestPath, `missing, but the folder holds key files (${strays.join(', ')})`);
    return undefined;
  }
  await assertPrivate(manifestPath);
  const manifest = parseManifest(manifestPath, text);
  const keys = new Map<string, PrivateJwk>();
  for (const entry of manifest.keys) {
    const file = join(dir, `${entry.kid}.json`);
    await assertPrivate(file);
    keys.set(entry.kid, parseKeyFile(file, await readFile(file, 'utf8'), entry));
  }
  return { manifest, keys };
}

function parseManifest(file: string, text: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new KeyringError(file, `not valid JSON (${(err as Error).message})`);
  }
  const m = data as { version?: unknown; keys?: unknown };
  if (m?.version !== 1) throw new KeyringError(file, 'version must be 1');
  if (!Array.isArray(m.keys)) throw new KeyringError(file, 'keys must be an array');
  const seen = new Set<string>();
  const keys = m.keys.map((raw, i) => {
    const e = raw as Record<string, unknown>;
    const where = `keys[${i}]`;
    if (typeof e?.kid !== 'string' || !/^[A-Za-z0-9_-]{8,128}$/.test(e.kid)) throw new KeyringError(file, `${where}.kid must be a key id`);
    if (seen.has(e.kid)) throw new KeyringError(file, `duplicate kid ${e.kid}`);
    seen.add(e.kid);
    if (!SIGNING_ALGS.includes(e.alg as never)) throw new KeyringError(file, `${where}.alg must be one of ${SIGNING_ALGS.join(', ')}`);
    for (const field of ['published_at', 'activates_at'] as const) {
      if (typeof e[field] !== 'string' || Number.isNaN(Date.parse(e[field] as string))) throw new KeyringError(file, `${where}.${field} must be an ISO date`);
    }
    for (const field of ['retires_at', 'removed_at'] as const) {
      if (e[field] !== null && (typeof e[field] !== 'string' || Number.isNaN(Date.parse(e[field] as string)))) {
        throw new KeyringError(file, `${where}.${field} must be an ISO date or null`);
      }
    }
    return {
      kid: e.kid,
      alg: e.alg,
      use: 'sig',
      published_at: e.published_at,
      activates_at: e.activates_at,
      retires_at: e.retires_at,
      removed_at: e.removed_at,
    } as KeyEntry;
  });
  return { version: 1, keys };
}

function parseKeyFile(file: string, text: string, entry: KeyEntry): PrivateJwk {
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(text);
  } catch (err) {
    throw new KeyringError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (jwk.kid !== entry.kid) throw new KeyringError(file, `kid ${String(jwk.kid)} does not match the manifest (${entry.kid})`);
  const want = KTY[entry.alg]!;
  if (jwk.kty !== want.kty || (want.crv && jwk.crv !== want.crv)) throw new KeyringError(file, `not a ${entry.alg} key`);
  if (typeof jwk.d !== 'string') throw new KeyringError(file, 'holds a public key only; a signing key needs its private part');
  return { ...jwk, kid: entry.kid, alg: entry.alg, use: 'sig' } as PrivateJwk;
}

/** Private keys must not be readable by anyone but the owner (docs/security.md, Keys). */
async function assertPrivate(file: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (err) {
    throw new KeyringError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message);
  }
  if ((mode & 0o077) !== 0) {
    throw new KeyringError(file, `mode ${(mode & 0o777).toString(8).padStart(4, '0')} lets others read it; run chmod 600`);
  }
}

async function listSafe(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Writes `data` to `path` atomically: temporary file (0600, flushed) then rename. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${randomToken(6)}.tmp`;
  const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes new key files, then the manifest that names them. */
export async function writeKeyring(dir: string, manifest: Manifest, newKeys: readonly PrivateJwk[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const jwk of newKeys) await writeFileAtomic(join(dir, `${jwk.kid}.json`), `${JSON.stringify(jwk, null, 2)}\n`);
  await syncDir(dir);
  await writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await syncDir(dir);
}

/**
 * Creates the first manifest unless one exists. Key files first, then the manifest is linked into
 * place (link fails if it exists), so instances starting together on an empty folder agree on one set.
 * Returns false when another process won.
 */
export async function createKeyringOnce(dir: string, manifest: Manifest, keys: readonly PrivateJwk[]): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const jwk of keys) await writeFileAtomic(join(dir, `${jwk.kid}.json`), `${JSON.stringify(jwk, null, 2)}\n`);
  const tmp = join(dir, `${MANIFEST}.${randomToken(6)}.tmp`);
  await writeFileAtomic(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  try {
    await link(tmp, join(dir, MANIFEST));
    await syncDir(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    for (const jwk of keys) await unlink(join(dir, `${jwk.kid}.json`)).catch(() => {});
    return false;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}
