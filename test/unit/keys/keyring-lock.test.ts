import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { tryKeyringLock, withKeyringLock } from '../../../src/keys/keyring-lock.ts';
import { FIXED_START } from '../../helpers/clock.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

/** The keyring's writer lock. Crashes in the middle of taking it are covered with real kills in test/rotation. */
const LOCK = '.keyring.lock';

/** The pid of a process that has exited (so certainly not holding anything). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

t.test('while held, the lock file names its owner; afterwards the folder is as it was', async (t) => {
  const dir = await tempDir(t);
  const seen = await withKeyringLock(dir, async () => ({ text: await readFile(join(dir, LOCK), 'utf8'), files: await readdir(dir) }));
  t.match(seen.text, new RegExp(`^${process.pid} ${hostname()} \\d{4}-\\d\\d-\\d\\dT`), 'pid, host and time from the moment the file exists');
  t.same(seen.files, [LOCK], 'no temporary file beside it');
  t.same(await readdir(dir), [], 'released: nothing left behind');
});

t.test('a lock whose owner is alive is respected; the error names the owner', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, LOCK), `${process.pid} ${hostname()} ${FIXED_START.toISOString()}\n`, { mode: 0o600 });
  let ran = false;
  await t.rejects(
    withKeyringLock(dir, async () => (ran = true), 0),
    new RegExp(`locked by another process \\(${process.pid} `),
  );
  t.equal(await tryKeyringLock(dir, async () => (ran = true)), undefined, 'background work skips');
  t.equal(ran, false, 'the work never ran');
});

t.test('a lock left by a process that is gone is broken at once, without waiting for it to age', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, LOCK), `${await deadPid()} ${hostname()} ${FIXED_START.toISOString()}\n`, { mode: 0o600 });
  t.equal(await withKeyringLock(dir, async () => 'done', 0), 'done');
  // What a crash while taking the lock can leave now: a temporary file, which blocks nobody.
  await writeFile(join(dir, `${LOCK}.AbCdEfGh.tmp`), `${await deadPid()} ${hostname()}\n`, { mode: 0o600 });
  t.equal(await withKeyringLock(dir, async () => 'again', 0), 'again');
});
