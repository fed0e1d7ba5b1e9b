import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../../src/config/load-config.ts';
import { resolveSecrets } from '../../../src/config/secrets-file.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

t.test('development secrets are generated once, kept private, and reused', async (t) => {
  const dir = await tempDir(t);
  const first = await resolveSecrets(loadConfig({ DATA_DIR: dir }, dir));
  t.equal(first.secrets?.length, 1);
  t.ok(first.secrets![0]!.length >= 43, 'at least 256 bits');
  const file = join(dir, 'secrets.json');
  t.equal((await stat(file)).mode & 0o777, 0o600);
  const second = await resolveSecrets(loadConfig({ DATA_DIR: dir }, dir));
  t.same(second.secrets, first.secrets, 'a restart keeps the same secret, so sessions survive');
  t.ok(Object.isFrozen(second));
});

t.test('two processes starting together agree on one secret', async (t) => {
  const dir = await tempDir(t);
  const results = await Promise.all(
    Array.from({ length: 8 }, () => resolveSecrets(loadConfig({ DATA_DIR: dir }, dir))),
  );
  const stored = JSON.parse(await readFile(join(dir, 'secrets.json'), 'utf8')).secrets;
  for (const r of results) t.same(r.secrets, stored);
});

t.test('SECRETS from the environment wins and nothing is written', async (t) => {
  const dir = await tempDir(t);
  const secret = 'an-operator-provided-secret-of-enough-length';
  const c = await resolveSecrets(loadConfig({ DATA_DIR: dir, SECRETS: secret }, dir));
  t.same(c.secrets, [secret]);
  await t.rejects(stat(join(dir, 'secrets.json')), { code: 'ENOENT' });
});

t.test('a damaged secrets file stops the start with a clear message', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'secrets.json'), '{not json');
  await t.rejects(resolveSecrets(loadConfig({ DATA_DIR: dir }, dir)), /not a valid secrets file/);
});
