import { join } from 'node:path';
import * as jose from 'jose';
import t, { type Test } from 'tap';
import { createTestDatabase } from '../helpers/databases.ts';
import { seedKeyring } from '../helpers/keys.ts';
import { CLI_JS, freePort, MAIN_JS, runProcess, startProcess, waitForStatus } from '../helpers/processes.ts';
import { basic } from '../helpers/tokens.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/**
 * Two Gatehouse instances share one keyring folder and one PostgreSQL database. A load generator asks
 * both for client-credentials tokens while a resource server built on jose.createRemoteJWKSet (default
 * cache: 10 min, refetch on an unknown kid at most every 30 s) verifies every one of them.
 */
const API = 'https://orders.example.com';
// Longer than jose's 30 s refetch cooldown plus our 1 s reload interval: the smallest window that
// lets a default-configured resource server learn a key before it signs.
const PREPUBLISH = 33;

async function cluster(t: Test, env: Record<string, string>) {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  await seedKeyring(keys);
  const db = await createTestDatabase(t, 'postgres');
  const [p1, p2] = [await freePort(), await freePort()];
  const common = {
    DATABASE_URL: db.url,
    KEYS_DIR: keys,
    DATA_DIR: join(dir, 'data'),
    ISSUER: `http://127.0.0.1:${p1}`,
    SECRETS: 'two-instance-test-secret-long-enough-000000',
    KEY_RELOAD_INTERVAL: '1s',
    ACCESS_TOKEN_TTL: '30s',
    ID_TOKEN_TTL: '30s',
    CLOCK_SKEW: '1s',
    LOG_LEVEL: 'warn',
    ...env,
  };
  const run = (...argv: string[]) => runProcess(CLI_JS, [...argv, '--json'], common, dir);
  await run('resources', 'create', '--audience', API, '--scope', 'orders:read');
  const client = JSON.parse((await run('clients', 'create', '--name', 'load', '--grant', 'client_credentials', '--resource', API)).stdout);
  const instances = [p1, p2].map((port) => startProcess(t, MAIN_JS, [], { ...common, PORT: String(port) }, dir));
  for (const port of [p1, p2]) await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
  const urls = [p1, p2].map((p) => `http://127.0.0.1:${p}`);
  const auth = basic(client.client_id, client.client_secret);
  return { urls, issuer: common.ISSUER, run, instances, auth };
}

/** Requests tokens from both instances and verifies each until `stop()`; counts everything. */
function loadAndVerify(urls: string[], issuer: string, auth: string) {
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const counts = { tokens: 0, tokenFailures: 0, verified: 0, verifyFailures: 0, kids: new Map<string, number>(), errors: new Set<string>() };
  let running = true;
  const worker = async (n: number) => {
    for (let i = n; running; i++) {
      const url = urls[i % urls.length]!;
      try {
        const res = await fetch(`${url}/token`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
        if (res.status !== 200) throw new Error(`token ${res.status}`);
        counts.tokens += 1;
        const { access_token } = (await res.json()) as { access_token: string };
        const kid = jose.decodeProtectedHeader(access_token).kid!;
        counts.kids.set(kid, (counts.kids.get(kid) ?? 0) + 1);
        try {
          await jose.jwtVerify(access_token, jwks, { issuer, audience: API, typ: 'at+jwt' });
          counts.verified += 1;
        } catch (err) {
          counts.verifyFailures += 1;
          counts.errors.add((err as { code?: string }).code ?? String(err));
        }
      } catch (err) {
        counts.tokenFailures += 1;
        counts.errors.add(String((err as Error).message));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function publishedKids(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

t.test('a rotation through publication, activation, retirement and removal: zero failures', async (t) => {
  const { urls, issuer, run, auth } = await cluster(t, { KEY_PREPUBLISH: `${PREPUBLISH}s` });
  const load = loadAndVerify(urls, issuer, auth);
  await new Promise((r) => setTimeout(r, 2000));
  const before = await publishedKids(urls[0]!);
  const rotated = await run('keys', 'rotate');
  t.equal(rotated.code, 0, rotated.stderr);
  const keys = JSON.parse(rotated.stdout) as { kid: string; alg: string; state: string; activates_at: string; removed_at: string | null }[];
  const newEs = keys.find((k) => k.alg === 'ES256' && k.state === 'next')!;
  const oldEs = keys.find((k) => k.alg === 'ES256' && k.state === 'active')!;
  const removal = Date.parse(oldEs.removed_at!);
  // Run until the old key is removed from both instances' JWKS, plus a little.
  await new Promise((r) => setTimeout(r, removal - Date.now() + 2500));
  await load.stop();
  const { counts } = load;
  t.comment(`tokens ${counts.tokens}, verified ${counts.verified}, token failures ${counts.tokenFailures}, verify failures ${counts.verifyFailures}, by kid ${JSON.stringify([...counts.kids])}, errors ${[...counts.errors].join(', ') || 'none'}`);
  t.ok(counts.tokens > 200, 'under load the whole time');
  t.equal(counts.tokenFailures, 0, 'zero failed token requests');
  t.equal(counts.verifyFailures, 0, 'zero failed verifications');
  t.equal(counts.verified, counts.tokens);
  t.ok((counts.kids.get(oldEs.kid) ?? 0) > 0 && (counts.kids.get(newEs.kid) ?? 0) > 0, 'tokens were signed by the old key, then by the new one');
  t.ok(before.includes(oldEs.kid) && !before.includes(newEs.kid));
  for (const url of urls) {
    const kids = await publishedKids(url);
    t.ok(kids.includes(newEs.kid) && !kids.includes(oldEs.kid), `${url}: old key removed, new key published`);
  }
});

t.test('the same test sees failures when the procedure is broken (activation with no pre-publication)', async (t) => {
  const { urls, issuer, run, auth } = await cluster(t, { KEY_PREPUBLISH: `${PREPUBLISH}s` });
  const load = loadAndVerify(urls, issuer, auth);
  await new Promise((r) => setTimeout(r, 1500));
  t.ok(load.counts.verified > 0, 'the verifier has fetched and cached the JWKS');
  t.equal((await run('keys', 'rotate', '--now')).code, 0);
  await new Promise((r) => setTimeout(r, 5000));
  await load.stop();
  const { counts } = load;
  t.comment(`tokens ${counts.tokens}, verify failures ${counts.verifyFailures}, errors ${[...counts.errors].join(', ')}`);
  t.ok(counts.verifyFailures > 0, 'tokens signed by a key the resource server has not seen fail to verify');
  t.ok(counts.errors.has('ERR_JWKS_NO_MATCHING_KEY'));
});
