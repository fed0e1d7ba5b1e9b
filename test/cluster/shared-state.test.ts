import { readdir } from 'node:fs/promises';
import t from 'tap';
import { fresh, metric, serviceClient, SOON_MS, tokenRequest, twoWorkers } from '../helpers/workers.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// A hang guard, not a speed requirement: this file runs many server or CLI processes, and on a loaded
// machine (two suites side by side on two cores) such files came within reach of the default 180 s.
t.setTimeout(600_000);

/** WORKERS=2 (test/helpers/workers.ts): what must be shared between the workers is. */

t.test('two workers serve one port; /metrics is one view summed over both', async (t) => {
  const { gh, server, workers } = await twoWorkers(t);
  t.equal(workers.length, 2, 'the primary runs two worker processes');
  const auth = await serviceClient(t, gh);

  const N = 30;
  const answers = await Promise.all(Array.from({ length: N }, () => tokenRequest(server.url, auth)));
  t.same(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body}`), [], `all ${N} token requests answered 200`);

  // Each worker counts only what it served; a worker's own registry would show about half.
  const text = (await fresh(`${server.url}/metrics`)).body;
  t.equal(metric(text, 'gatehouse_tokens_issued_total', 'grant="client_credentials"'), N, `tokens issued, summed over the workers: ${N}`);
  t.equal(metric(text, 'gatehouse_signing_keys', 'state="active"'), 2, 'the keyring gauge is one worker\'s view, not a sum');
  t.equal(server.process.output().match(/gatehouse listening on/g)?.length, 1, 'the primary says it listens once, for both');
});

t.test('a refresh token raced on two workers at once: one successor, no fork', async (t) => {
  const { gh, server } = await twoWorkers(t);
  const { registerWebApp, authorizationCode, redeemCode } = await import('../helpers/oauth-app.ts');
  const app = await registerWebApp(gh);
  const created = await gh.cli(['users', 'create', 'racer@example.com', '--password-stdin', '--verified'], 'a long quiet harbour at dusk\n');
  t.equal(created.code, 0, created.stderr);
  const code = await authorizationCode(server.url, app, 'racer@example.com', 'a long quiet harbour at dusk');
  const first = await redeemCode(server.url, app, code);
  t.equal(first.status, 200, 'the code is redeemed');
  const token = String(first.json.refresh_token);

  const race = await Promise.all(
    Array.from({ length: 6 }, () =>
      fresh(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: app.auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString(),
      }),
    ),
  );
  t.same(race.map((a) => a.status), [200, 200, 200, 200, 200, 200], 'every racer is answered (the grace window)');
  const successors = new Set(race.map((a) => (JSON.parse(a.body) as { refresh_token: string }).refresh_token));
  t.equal(successors.size, 1, 'with the same successor: the grant did not fork');
});

t.test('an IP ban from the CLI reaches both workers; lifting it too', async (t) => {
  const { gh, server } = await twoWorkers(t);
  t.equal((await gh.cli(['ips', 'ban', '127.0.0.1', '--for', '1h'])).code, 0);
  // Each worker re-reads bans within its cache's 2 s: wait for ten fresh connections in a row refused.
  await waitUntil(
    async () => (await Promise.all(Array.from({ length: 10 }, () => fresh(`${server.url}/jwks`)))).every((a) => a.status === 403),
    'every worker refuses the banned address',
    SOON_MS,
  );
  t.pass('ten connections in a row, across both workers, refused with 403');
  t.equal((await gh.cli(['ips', 'unban', '127.0.0.1'])).code, 0);
  await waitUntil(
    async () => (await Promise.all(Array.from({ length: 10 }, () => fresh(`${server.url}/jwks`)))).every((a) => a.status === 200),
    'every worker serves the address again',
    SOON_MS,
  );
  t.pass('and served again once it is lifted');
});

t.test('SIGHUP reaches every worker: a rotated key is in the JWKS whichever worker answers', async (t) => {
  const { gh, server } = await twoWorkers(t, { KEY_RELOAD_INTERVAL: '1h' });
  const kids = async () => (JSON.parse((await fresh(`${server.url}/jwks`)).body) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
  const before = await kids();
  t.equal((await gh.cli(['keys', 'rotate'])).code, 0, 'keys rotate');
  process.kill(server.pid, 'SIGHUP');
  await waitUntil(async () => (await Promise.all(Array.from({ length: 8 }, kids))).every((k) => k.length === before.length + 2), 'both workers publish the new keys', SOON_MS);
  t.pass('eight fresh connections in a row all see the two new keys');
});

t.test('a first start with two workers creates one keyring, audited once', async (t) => {
  const { gh, server } = await twoWorkers(t);
  const files = (await readdir(gh.env.KEYS_DIR!)).filter((f) => f.endsWith('.json') && f !== 'manifest.json');
  t.equal(files.length, 2, 'one ES256 and one RS256 key, not one pair per worker');
  const audit = await gh.cli(['audit', '--type', 'keys.created', '--json']);
  t.equal(audit.code, 0, audit.stderr);
  t.equal((JSON.parse(audit.stdout) as unknown[]).length, 1, 'one keys.created event');
  t.equal((await fresh(`${server.url}/readyz`)).status, 200);
});
