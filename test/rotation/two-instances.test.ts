import { join } from 'node:path';
import * as jose from 'jose';
import t, { type Test } from 'tap';
import { createTestDatabase } from '../helpers/databases.ts';
import { seedKeyring } from '../helpers/keys.ts';
import { CLI_JS, freePort, MAIN_JS, runProcess, startProcess, waitForStatus } from '../helpers/processes.ts';
import { basic } from '../helpers/tokens.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitUntil } from '../helpers/wait-until.ts';

/**
 * Two Gatehouse instances share one keyring folder and one PostgreSQL database. A load generator asks
 * both for client-credentials tokens while a resource server built on jose.createRemoteJWKSet (cache
 * 10 min, refetch on an unknown kid at most once per cooldown) verifies every one of them.
 *
 * The rule under test: the pre-publication window must outlast the resource servers' refetch
 * cooldown plus the instances' reload interval. It is checked at a smaller scale than production's
 * (jose's 30 s default cooldown, KEY_PREPUBLISH 1 h): a 1 s cooldown and a 5 s window, so the
 * pre-publication takes seconds instead of an hour (the wait for the old key's removal is the
 * shortest token lifetime Gatehouse allows, 30 s, plus CLOCK_SKEW). The broken procedure (no pre-publication) is
 * shown with jose's default cooldown, which outlasts the rotation command even on a slow machine.
 */
const API = 'https://orders.example.com';
const COOLDOWN_MS = 1_000;
// Over the 1 s cooldown plus the 1 s reload interval, with 3 s of room for a loaded machine.
const PREPUBLISH = 5;
/** Hang guards for things that happen in real time in the instances; never speed checks. */
const SOON_MS = 60_000;

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
  await run('migrate');
  await run('resources', 'create', '--audience', API, '--scope', 'orders:read');
  const client = JSON.parse((await run('clients', 'create', '--name', 'load', '--grant', 'client_credentials', '--resource', API)).stdout);
  const instances = [p1, p2].map((port) => startProcess(t, MAIN_JS, [], { ...common, PORT: String(port) }, dir));
  for (const port of [p1, p2]) await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
  const urls = [p1, p2].map((p) => `http://127.0.0.1:${p}`);
  const auth = basic(client.client_id, client.client_secret);
  return { urls, issuer: common.ISSUER, run, instances, auth };
}

/**
 * Requests tokens from both instances and verifies each until `stop()`; counts everything. The
 * resource server refetches the JWKS at most once per `cooldownDuration` (jose's default: 30 s).
 */
function loadAndVerify(t: Test, urls: string[], issuer: string, auth: string, cooldownDuration?: number) {
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`), cooldownDuration === undefined ? {} : { cooldownDuration });
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
  const stop = async () => {
    running = false;
    await Promise.all(workers);
  };
  // Also when a wait below gives up: the workers must not outlive the test.
  t.teardown(stop);
  return { counts, stop };
}

async function publishedKids(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

// One cluster for both tests (starting one takes two CLI runs and two server starts); the second
// test rotates again on the keyring the first one left.
const { urls, issuer, run, auth } = await cluster(t, { KEY_PREPUBLISH: `${PREPUBLISH}s` });

t.test('a rotation through publication, activation, retirement and removal: zero failures', async (t) => {
  const load = loadAndVerify(t, urls, issuer, auth, COOLDOWN_MS);
  const { counts } = load;
  await waitUntil(() => counts.verified > 0, 'the resource server has verified a token (its JWKS is cached)', SOON_MS);
  const before = await publishedKids(urls[0]!);
  const rotated = await run('keys', 'rotate');
  t.equal(rotated.code, 0, rotated.stderr);
  const keys = JSON.parse(rotated.stdout) as { kid: string; alg: string; state: string; activates_at: string; removed_at: string | null }[];
  const newEs = keys.find((k) => k.alg === 'ES256' && k.state === 'next')!;
  const oldEs = keys.find((k) => k.alg === 'ES256' && k.state === 'active')!;
  const signedByOldAtRotation = counts.kids.get(oldEs.kid) ?? 0;
  // Run until the old key is removed from both instances' JWKS (scheduled: activation, then the
  // longest token lifetime plus CLOCK_SKEW), then for a few more tokens.
  const removal = Date.parse(oldEs.removed_at!);
  const gone = async () => (await Promise.all(urls.map(publishedKids))).every((kids) => !kids.includes(oldEs.kid));
  await waitUntil(gone, 'the old key is removed from both JWKS', removal - Date.now() + SOON_MS, 250);
  const atRemoval = counts.tokens;
  await waitUntil(() => counts.tokens >= atRemoval + 20, '20 more tokens after the removal', SOON_MS);
  await load.stop();
  t.comment(`tokens ${counts.tokens}, verified ${counts.verified}, token failures ${counts.tokenFailures}, verify failures ${counts.verifyFailures}, by kid ${JSON.stringify([...counts.kids])}, errors ${[...counts.errors].join(', ') || 'none'}`);
  t.equal(counts.tokenFailures, 0, 'zero failed token requests');
  t.equal(counts.verifyFailures, 0, 'zero failed verifications');
  t.equal(counts.verified, counts.tokens);
  // Under load through every phase: before the rotation, during pre-publication, after activation, after removal.
  t.ok(signedByOldAtRotation > 0, 'tokens before the rotation');
  t.ok((counts.kids.get(oldEs.kid) ?? 0) > signedByOldAtRotation, 'the old key kept signing while the new one was published');
  t.ok((counts.kids.get(newEs.kid) ?? 0) > 0, 'then the new key signed');
  t.ok(before.includes(oldEs.kid) && !before.includes(newEs.kid));
  for (const url of urls) {
    const kids = await publishedKids(url);
    t.ok(kids.includes(newEs.kid) && !kids.includes(oldEs.kid), `${url}: old key removed, new key published`);
  }
});

t.test('the same test sees failures when the procedure is broken (activation with no pre-publication)', async (t) => {
  const load = loadAndVerify(t, urls, issuer, auth);
  const { counts } = load;
  await waitUntil(() => counts.verified > 0, 'the resource server has verified a token (its JWKS is cached)', SOON_MS);
  t.equal((await run('keys', 'rotate', '--now')).code, 0);
  // The instances sign with the new key within a reload interval; the resource server cannot
  // refetch before its 30 s cooldown has passed since its first fetch.
  await waitUntil(() => counts.verifyFailures > 0, 'a token the resource server cannot verify', SOON_MS);
  await load.stop();
  t.comment(`tokens ${counts.tokens}, verify failures ${counts.verifyFailures}, errors ${[...counts.errors].join(', ')}`);
  t.ok(counts.verifyFailures > 0, 'tokens signed by a key the resource server has not seen fail to verify');
  t.ok(counts.errors.has('ERR_JWKS_NO_MATCHING_KEY'));
});
