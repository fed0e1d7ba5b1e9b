import { link, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError, UsageError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { randomToken } from '../lib/random.js';
import type { Database } from './database.js';

export interface SqliteBackup {
  /** Absolute path of the backup file. */
  file: string;
  bytes: number;
  /** When the snapshot was taken: the backup holds every write committed before this moment. */
  at: Date;
}

export interface SqliteBackupOptions {
  /** The live database file (`db` is connected to it). */
  databasePath: string;
  /** Absolute path of the backup file to write. */
  target: string;
  /** Replace an existing target file. */
  force: boolean;
  clock: Clock;
}

/**
 * An online, consistent copy of the live SQLite database into one self-contained file, while other
 * connections and processes keep reading and writing.
 *
 * `VACUUM INTO` runs inside one read transaction on `db`'s own connection: in WAL mode that is a
 * snapshot that writers do not wait for, and it writes a compact database (rollback-journal mode, no
 * -wal/-shm companions) that can simply be copied into place to restore. The live database file is
 * never opened with fs: POSIX drops all of a process's locks on a file when any descriptor of that
 * file closes, which would silently unlock the live connection. Only the backup file is touched
 * with fs, and only after SQLite has closed it.
 *
 * The copy is written to a hidden temporary file in the target folder (created empty, mode 0600,
 * because the backup holds password hashes: SQLite accepts an empty file as `VACUUM INTO` output),
 * checked with `PRAGMA integrity_check`, flushed (SQLite does not fsync `VACUUM INTO` output) and
 * then moved into place; on any failure it is removed, so no partial backup is left behind.
 */
export async function backupSqlite(db: Database, options: SqliteBackupOptions): Promise<SqliteBackup> {
  const { databasePath, target, force } = options;
  const folder = dirname(target);
  await refuseTarget(target, databasePath, force);
  const temporary = join(folder, `.${basename(target)}.${randomToken(6)}.tmp`);
  await createEmptyPrivateFile(temporary);
  let at: Date;
  try {
    // The folder exists now; compare canonical paths so a symlinked folder cannot hide the database.
    await refuseDatabasePath(join(await realpath(folder), basename(target)), await realpath(databasePath));
    at = options.clock.now();
    await vacuumInto(db, temporary);
    await checkIntegrity(temporary);
    await flush(temporary);
    await moveIntoPlace(temporary, target, force);
  } catch (err) {
    await unlink(temporary).catch(() => {});
    throw err;
  }
  await flush(folder);
  return { file: target, bytes: (await stat(target)).size, at };
}

async function refuseTarget(target: string, databasePath: string, force: boolean): Promise<void> {
  await refuseDatabasePath(target, databasePath);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`${target} is a folder; name the backup file, e.g. ${join(target, 'gatehouse.db')}`);
  if (existing) {
    const live = await stat(databasePath);
    if (existing.dev === live.dev && existing.ino === live.ino) throw new UsageError(`${target} is the live database itself; choose another file`);
    if (!force) throw new UsageError(`${target} already exists; choose a new file or pass --force to replace it`);
  }
}

/** The database and its -wal/-shm/-journal companions (a stray -wal next to it would be replayed). */
async function refuseDatabasePath(target: string, databasePath: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    if (target === `${databasePath}${suffix}`) throw new UsageError(`${target} is ${suffix ? `the live database's ${suffix} file` : 'the live database itself'}; choose another file`);
  }
}

async function createEmptyPrivateFile(path: string): Promise<void> {
  try {
    await (await open(path, 'wx', 0o600)).close();
  } catch (err) {
    throw new AppError('server_error', `cannot write a file in ${dirname(path)}: ${describeFsError(err)}`, { expose: true, cause: err });
  }
}

async function vacuumInto(db: Database, path: string): Promise<void> {
  try {
    await db.prisma.$executeRawUnsafe('VACUUM INTO ?', path);
  } catch (err) {
    // Prisma's own message starts with the invocation; the driver's (disk full, I/O error) says why.
    const reason = (err as { meta?: { driverAdapterError?: { cause?: { originalMessage?: string } } } }).meta?.driverAdapterError?.cause?.originalMessage;
    throw new AppError('server_error', `the backup failed: ${reason ?? (err as Error).message}`, { expose: true, cause: err });
  }
}

async function checkIntegrity(path: string): Promise<void> {
  const { createClient } = await import('@libsql/client');
  const client = createClient({ url: `file:${path}` });
  try {
    const rows = (await client.execute('PRAGMA integrity_check')).rows;
    const result = rows.map((r) => String(r[0])).join('; ');
    if (result !== 'ok') throw new AppError('server_error', `the backup failed its integrity check: ${result}`, { expose: true });
  } finally {
    client.close();
  }
}

/** fsync a file (after SQLite closed it) or a folder (after a rename in it). */
async function flush(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Without --force a hard link, which fails if the target appeared meanwhile; with it, a rename over it. */
async function moveIntoPlace(temporary: string, target: string, force: boolean): Promise<void> {
  if (force) {
    await rename(temporary, target);
    return;
  }
  try {
    await link(temporary, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${target} already exists; choose a new file or pass --force to replace it`);
    throw new AppError('server_error', `cannot create ${target}: ${describeFsError(err)}`, { expose: true, cause: err });
  }
  await unlink(temporary);
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such folder',
    ENOTDIR: 'not a folder',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
  };
  return (code && reasons[code]) ?? (err as Error).message;
}
