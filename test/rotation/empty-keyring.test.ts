import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { seedKeyring } from '../helpers/keys.ts';
import { freePort, MAIN_JS, startProcess } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { basic, postForm } from '../helpers/tokens.ts';

const EMPTY = JSON.stringify({ version: 1, keys: [] });

t.test('a well-formed keyring with no signing key stops the start: one line, exit 2', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  await seedKeyring(keys);
  await writeFile(join(keys, 'manifest.json'), EMPTY, { mode: 0o600 });
  const port = await freePort();
  const run = startProcess(t, MAIN_JS, [], { KEYS_DIR: keys, DATA_DIR: join(dir, 'data'), PORT: String(port), LOG_LEVEL: 'silent' }, dir);
  // Whichever comes first: the process exits, or it answers HTTP (it started without keys).
  let exited = false;
  const listening = async () => {
    while (!exited) {
      if (await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false)) return { code: 'listening' };
      await new Promise((r) => setTimeout(r, 50));
    }
    return { code: 'exited' };
  };
  const outcome = await Promise.race([run.exited.then((code) => ({ code })), listening()]);
  exited = true;
  t.equal(outcome.code, 2, 'refused to start');
  const lines = run.output().split('\n').filter((l) => l.trim() && !l.startsWith('oidc-provider WARNING'));
  t.equal(lines.length, 1, `one line: ${run.output()}`);
  t.match(lines[0], `gatehouse: failed to start: ${join(keys, 'manifest.json')}: no active signing key for ES256, RS256`);
});

t.test('an empty keyring at runtime: the last good keys stay in use, logged, and /readyz says so', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  await registerApi(gh.services, 'https://api.example.com', 'read');
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: ['https://api.example.com'] });
  const token = async () => (await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, job.client_secret!))).status;
  const jwks = async () => (await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
  const readyz = async () => {
    const r = await fetch(`${gh.issuer}/readyz`);
    return { status: r.status, body: (await r.json()) as { status: string; checks: Record<string, string> } };
  };
  const good = await jwks();
  t.equal(good.keys.length, 2);
  t.same((await readyz()).body, { status: 'ready', checks: { database: 'ok', keys: 'ok', keyring: 'ok' } });

  const manifest = join(gh.config.keysDir, 'manifest.json');
  const text = await readFile(manifest, 'utf8');
  await writeFile(manifest, EMPTY, { mode: 0o600 });
  await gh.keys.reload();
  t.same(await jwks(), good, 'the JWKS is not emptied');
  t.equal(await token(), 200, 'the token endpoint still signs');
  const error = gh.logs.find((l) => l.msg === 'keyring not reloaded: keeping the last good key set');
  t.match(JSON.stringify(error), /manifest\.json: no active signing key for ES256, RS256/, 'logged as an error');
  const degraded = await readyz();
  t.equal(degraded.status, 200, 'still serving: one bad file must not take every instance out');
  t.equal(degraded.body.status, 'degraded');
  t.match(degraded.body.checks.keyring, /^last good key set in use; refused .*no active signing key for ES256, RS256/);

  await writeFile(manifest, text, { mode: 0o600 });
  await gh.keys.reload();
  t.same((await readyz()).body, { status: 'ready', checks: { database: 'ok', keys: 'ok', keyring: 'ok' } }, 'a good keyring clears it');
});
