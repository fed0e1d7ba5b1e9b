import { watch } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readKeyring } from '../../src/keys/keyring-files.ts';
import { seedKeyring } from '../helpers/keys.ts';
import { CLI_JS, freePort, MAIN_JS, runProcess, startProcess, type RunningProcess } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/**
 * Where to kill `keys rotate`, named by what its folder has just seen: it takes the lock (a temporary
 * file holding its pid, linked into place, then removed), generates the keys (most of the run),
 * writes each key file to a temporary file and renames it into place, does the same for the
 * manifest, and releases the lock. Killing on these file events lands each kill at its step of the
 * writing whatever the speed of the machine (a kill timed by the clock mostly lands during start-up
 * or key generation). The kill follows the event by a moment, so a point is "at or just after".
 */
const KEY_FILE = /^(?!manifest)[\w-]+\.json$/;
const KEY_TEMP = /^(?!manifest)[\w-]+\.json\.[\w-]+\.tmp$/;
const MANIFEST_TEMP = /^manifest\.json\.[\w-]+\.tmp$/;
const KILL_POINTS: { when: string; file: RegExp; nth: number }[] = [
  { when: 'the lock is taken', file: /^\.keyring\.lock\.[\w-]+\.tmp$/, nth: 3 },
  { when: 'a key file is being written', file: KEY_TEMP, nth: 1 },
  { when: 'one key file is in place', file: KEY_FILE, nth: 1 },
  { when: 'both key files are in place', file: KEY_FILE, nth: 2 },
  { when: 'the new manifest is being written', file: MANIFEST_TEMP, nth: 1 },
  { when: 'the new manifest is written, not yet renamed', file: MANIFEST_TEMP, nth: 2 },
  { when: 'the new manifest is renamed into place', file: /^manifest\.json$/, nth: 1 },
];

/** Runs `keys rotate` and kills it (SIGKILL) at `point`; resolves with its exit code or signal. */
function rotateAndKill(t: Test, keys: string, env: Record<string, string>, dir: string, point: (typeof KILL_POINTS)[number]) {
  let seen = 0;
  let run: RunningProcess | undefined;
  const watcher = watch(keys, (_event, name) => {
    if (name && point.file.test(name) && ++seen === point.nth) run?.child.kill('SIGKILL');
  });
  run = startProcess(t, CLI_JS, ['keys', 'rotate'], env, dir);
  return run.exited.finally(() => watcher.close());
}

t.test('kill -9 in the middle of `keys rotate` always leaves a keyring that loads (old or new, never half)', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  await seedKeyring(keys);
  const env = { KEYS_DIR: keys, DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' };
  // `keys rotate` refuses a database without the schema.
  t.equal((await runProcess(CLI_JS, ['migrate'], env, dir)).code, 0);
  const outcomes = { old: 0, new: 0 };
  for (const point of KILL_POINTS) {
    const before = (await readKeyring(keys))!.manifest;
    const exit = await rotateAndKill(t, keys, env, dir, point);
    // Each run starts where the previous kill left the folder (a dead owner's lock, temporary files).
    t.ok(exit === 'SIGKILL' || exit === 0, `killed when ${point.when}: the run was killed (or had finished), it did not fail (exit ${exit})`);
    // Throws (failing the test) on a half-written manifest or key file, or a manifest naming a missing key.
    const after = (await readKeyring(keys))?.manifest;
    t.ok(after, `killed when ${point.when}: the keyring loads`);
    const unchanged = JSON.stringify(after) === JSON.stringify(before);
    const beforeKids = before.keys.map((k) => k.kid);
    const afterKids = after!.keys.map((k) => k.kid);
    // A whole rotation keeps every entry, in order, and adds one new key per algorithm.
    const rotated = afterKids.length === beforeKids.length + 2 && beforeKids.every((kid, i) => afterKids[i] === kid);
    t.ok(unchanged || rotated, `killed when ${point.when}: ${unchanged ? 'old' : rotated ? 'new' : 'HALF-WRITTEN'} state (${beforeKids.length} → ${afterKids.length} keys)`);
    outcomes[unchanged ? 'old' : 'new'] += 1;
  }
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`);
  // The first kill comes before the keys are even generated, the last once the new manifest is in
  // place: without both outcomes the kills missed the rotation and this test proved nothing.
  t.ok(outcomes.old > 0 && outcomes.new > 0, 'kills landed before and after the new manifest took effect');
  const final = await runProcess(CLI_JS, ['keys', 'rotate', '--json'], env, dir);
  t.equal(final.code, 0, `a crashed rotation does not block the next (its lock is recognised as stale) ${final.stderr}`);
});

t.test('a broken keyring stops the start with one line naming the file', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  await seedKeyring(keys);
  const manifest = JSON.parse(await readFile(join(keys, 'manifest.json'), 'utf8'));
  await writeFile(join(keys, 'manifest.json'), JSON.stringify({ version: 1, keys: [manifest.keys[0], manifest.keys[0]] }), { mode: 0o600 });
  const r = await runProcess(MAIN_JS, [], { KEYS_DIR: keys, DATA_DIR: join(dir, 'data'), PORT: String(await freePort()) }, dir);
  t.equal(r.code, 2);
  t.match(r.stderr, new RegExp(`gatehouse: failed to start: ${join(keys, 'manifest.json').replaceAll('/', '\\/')}: duplicate kid`));
});
