/**
 * The SQLite settings Gatehouse promises, on every connection it uses (the server's one is opened in
 * sqlite-connection.ts; migrate.ts and the backup open their own).
 *
 * - `journal_mode = WAL` (stored in the file): readers never wait for the writer, and a commit is one
 *   append to the -wal file.
 * - `synchronous = NORMAL`: a commit has reached the operating system before it is acknowledged, so an
 *   acknowledged write survives a crash or kill -9 of the process. After a power loss or an OS crash
 *   the database is still consistent, but the last commits before it may be gone (FULL would fsync on
 *   every commit: 3.7 ms per commit instead of 0.08 ms on the machines we measured, a 50-fold cap on
 *   writes).
 * - `busy_timeout`: a write that meets another process's write lock waits this long, then fails
 *   (and the request answers 503).
 * - `foreign_keys = ON` (libsql's default; the schema declares no foreign keys today).
 * - Transactions are BEGIN IMMEDIATE, never a deferred BEGIN: a deferred transaction that reads
 *   first cannot take the write lock once another process has written since (SQLITE_BUSY at once,
 *   whatever the busy timeout), so a use case that looks, then writes, failed with a 503 whenever the
 *   CLI or a second server wrote at the same moment. IMMEDIATE takes the write lock at BEGIN, waiting
 *   up to the busy timeout like any other write.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
export const SQLITE_CONNECTION_PRAGMAS = 'PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;';
