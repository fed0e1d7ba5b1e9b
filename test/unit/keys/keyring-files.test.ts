import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readKeyring, KeyringError } from '../../../src/keys/keyring-files.ts';
import { loadOrCreateKeyring } from '../../../src/keys/load-keyring.ts';
import { FIXED_START } from '../../helpers/clock.ts';
import { seedKeyring } from '../../helpers/keys.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

async function keyring(t: Test) {
  const dir = join(await tempDir(t), 'keys');
  await seedKeyring(dir);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  return { dir, manifest };
}

t.test('a good keyring loads; an empty folder is created with one key per algorithm, all 0600', async (t) => {
  const { dir } = await keyring(t);
  const loaded = await readKeyring(dir);
  t.equal(loaded?.manifest.keys.length, 2);
  const empty = join(await tempDir(t), 'fresh');
  const created = await loadOrCreateKeyring(empty, { now: () => FIXED_START });
  t.equal(created.created, true);
  t.same(created.manifest.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  const again = await loadOrCreateKeyring(empty, { now: () => FIXED_START });
  t.equal(again.created, false, 'the second start reads it');
});

t.test('every kind of broken keyring is refused with the file named', async (t) => {
  const cases: [string, (dir: string, manifest: { keys: { kid: string }[] }) => Promise<void>, RegExp][] = [
    ['corrupt manifest', (dir) => writeFile(join(dir, 'manifest.json'), '{"version":1,"keys":[', { mode: 0o600 }), /manifest\.json: not valid JSON/],
    ['group-readable manifest', (dir) => chmod(join(dir, 'manifest.json'), 0o644), /manifest\.json: mode 0644 lets others read it/],
    ['group-readable key', (dir, m) => chmod(join(dir, `${m.keys[0]!.kid}.json`), 0o640), /\.json: mode 0640 lets others read it/],
    [
      'public-only key',
      async (dir, m) => {
        const file = join(dir, `${m.keys[0]!.kid}.json`);
        const { d: _d, ...pub } = JSON.parse(await readFile(file, 'utf8'));
        await writeFile(file, JSON.stringify(pub), { mode: 0o600 });
      },
      /holds a public key only/,
    ],
    [
      'duplicate kid',
      async (dir, m) => {
        await writeFile(join(dir, 'manifest.json'), JSON.stringify({ version: 1, keys: [m.keys[0], m.keys[0]] }), { mode: 0o600 });
      },
      /manifest\.json: duplicate kid/,
    ],
    ['missing key file', async (dir, m) => writeFile(join(dir, `${m.keys[1]!.kid}.json`), '').then(() => import('node:fs/promises').then((fs) => fs.unlink(join(dir, `${m.keys[1]!.kid}.json`)))), /\.json: missing/],
    [
      'bad date',
      async (dir, m) => writeFile(join(dir, 'manifest.json'), JSON.stringify({ version: 1, keys: [{ ...m.keys[0], activates_at: 'soon' }] }), { mode: 0o600 }),
      /keys\[0\]\.activates_at must be an ISO date/,
    ],
    ['missing manifest with keys present', async (dir) => import('node:fs/promises').then((fs) => fs.unlink(join(dir, 'manifest.json'))), /manifest\.json: missing, but the folder holds key files/],
  ];
  for (const [name, breakIt, message] of cases) {
    const { dir, manifest } = await keyring(t);
    await breakIt(dir, manifest);
    const err = await readKeyring(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, KeyringError, name);
    t.match((err as Error).message, message, name);
    t.ok((err as KeyringError).file.startsWith(dir), `${name}: names the file`);
  }
});
