import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { readKeyring } from '../../src/keys/keyring-files.ts';
import { seedKeyring } from '../helpers/keys.ts';
import { CLI_JS, freePort, MAIN_JS, runProcess, startProcess } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

t.test('kill -9 in the middle of `keys rotate` always leaves a keyring that loads (old or new, never half)', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  await seedKeyring(keys);
  const env = { KEYS_DIR: keys, DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' };
  // Migrate once so the kills land in the key work, not in the database set-up.
  await runProcess(CLI_JS, ['migrate'], env, dir);
  // How long a whole rotation takes here; the kills are spread across that time.
  const started = performance.now();
  t.equal((await runProcess(CLI_JS, ['keys', 'rotate'], env, dir)).code, 0);
  const whole = performance.now() - started;
  t.comment(`one rotation takes ${Math.round(whole)} ms`);
  const outcomes = { old: 0, new: 0 };
  for (let i = 0; i < 12; i++) {
    const before = (await readKeyring(keys))!.manifest.keys.length;
    const run = startProcess(t, CLI_JS, ['keys', 'rotate'], env, dir);
    await new Promise((r) => setTimeout(r, whole * (0.6 + (0.5 * i) / 11)));
    run.child.kill('SIGKILL');
    await run.exited;
    const after = await readKeyring(keys);
    t.ok(after, `kill #${i + 1}: the keyring loads`);
    const n = after!.manifest.keys.length;
    t.ok(n === before || n === before + 2, `kill #${i + 1}: ${n === before ? 'old' : 'new'} state (${before} → ${n} keys)`);
    outcomes[n === before ? 'old' : 'new'] += 1;
    const files = await readdir(keys);
    t.notOk(files.some((f) => f === 'manifest.json.tmp'), 'no temp file passes for the manifest');
  }
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`);
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
