import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { systemClock } from '../lib/clock.js';
import { randomToken } from '../lib/random.js';

const LOCK = '.keyring.lock';
/** A lock older than this is left over from a crashed process and may be broken. */
const STALE_MS = 60_000;
/**
 * Wall time, never the app's (possibly a test's) clock: the lock measures real waiting (setTimeout)
 * and its staleness against the file's mtime, which the file system stamps with the system clock.
 */
const wallMs = () => systemClock.now().getTime();

/** Another process holds the keyring lock (and kept it for longer than we waited). */
export class KeyringLocked extends AppError {
  constructor(owner: string) {
    super('conflict', `the keyring is locked by another process (${owner})`);
    this.name = 'KeyringLocked';
  }
}

/**
 * One writer at a time for the keyring folder (CLI rotations, automatic rotation on any instance):
 * a lock file holding the owner's pid. Readers never need it — every write is an atomic rename.
 */
export async function withKeyringLock<T>(dir: string, work: () => Promise<T>, waitMs = 15_000): Promise<T> {
  const path = join(dir, LOCK);
  const deadline = wallMs() + waitMs;
  while (!(await tryCreate(path))) {
    if (await isStale(path)) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (wallMs() > deadline) throw new KeyringLocked((await readFile(path, 'utf8').catch(() => '?')).trim());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => {});
  }
}

/**
 * Creates the lock file with its owner already in it: written to a temporary file, then linked into
 * place (link fails when the lock exists). Creating it empty and writing the pid next would let a
 * crash between the two leave an ownerless lock that blocks every writer until it is STALE_MS old;
 * this way a crash leaves at most a stray temporary file, which nothing reads.
 */
async function tryCreate(path: string): Promise<boolean> {
  const tmp = `${path}.${randomToken(6)}.tmp`;
  await writeFile(tmp, `${process.pid} ${hostname()} ${systemClock.now().toISOString()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Left by a process that is gone (same host: its pid no longer exists), or simply too old. */
async function isStale(path: string): Promise<boolean> {
  try {
    const [pid, host] = (await readFile(path, 'utf8')).split(' ');
    if (host === hostname() && pid && !alive(Number(pid))) return true;
    return wallMs() - (await stat(path)).mtimeMs > STALE_MS;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Non-blocking variant for background work: undefined when another process holds the lock. */
export async function tryKeyringLock<T>(dir: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await withKeyringLock(dir, work, 0);
  } catch (err) {
    if (err instanceof KeyringLocked) return undefined;
    throw err;
  }
}
