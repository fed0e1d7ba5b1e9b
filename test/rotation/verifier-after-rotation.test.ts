import * as jose from 'jose';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { cli } from '../helpers/cli.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { freePort, startProcess, waitForStatus } from '../helpers/processes.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { installShopApi } from '../helpers/verifier-package.ts';

/**
 * After a rotation, tokens signed with the new key verify in the running example service — no
 * restart — because the verifier refetches the JWKS when it meets an unknown kid, at most once per
 * cooldown; the pre-publication window must outlast that cooldown. The rule is checked at a smaller
 * scale than production's (the verifier's 30 s default cooldown, KEY_PREPUBLISH 1 h): the service
 * runs with a 1 s cooldown (JWKS_COOLDOWN_MS) and the window is 5 s, so the test waits seconds,
 * not half a minute. With the default cooldown this test fails: the new kid arrives within 30 s of
 * the service's first fetch.
 */
const SHOP = 'https://shop.example.com';
const COOLDOWN_MS = 1_000;
// Over the 1 s cooldown plus the 1 s reload interval, with 3 s of room for a loaded machine.
const PREPUBLISH = 5;
/** How long after its scheduled activation the new key may take to sign: a hang guard only. */
const SWITCH_DEADLINE_MS = 30_000;

t.test('the example service accepts tokens of a new key without a restart', async (t) => {
  const shopApi = await installShopApi(t);
  const gh = await buildTestApp(t, { listen: true, env: { KEY_PREPUBLISH: `${PREPUBLISH}s`, KEY_RELOAD_INTERVAL: '1s' } });
  await registerApi(gh.services, SHOP, 'payments:write orders:read');
  const client = await registerClient(gh.services, { name: 'checkout', grants: ['client_credentials'], resources: [SHOP] });
  const token = async () => String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'orders:read' }, basic(client.client_id, client.client_secret!))).json.access_token);

  const port = await freePort();
  startProcess(t, shopApi.serverJs, [], { GATEHOUSE_ISSUER: gh.issuer, SHOP_AUDIENCE: SHOP, SHOP_PORT: String(port), LOG_LEVEL: 'warn', JWKS_COOLDOWN_MS: String(COOLDOWN_MS) }, shopApi.dir);
  await waitForStatus(`http://127.0.0.1:${port}/pool`, 200);
  const profile = async (tok: string) => (await fetch(`http://127.0.0.1:${port}/profile`, { headers: { authorization: `Bearer ${tok}` } })).status;

  const before = await token();
  t.equal(await profile(before), 200, 'the service has fetched and cached the current keys');

  const rotated = await cli(['keys', 'rotate', '--json'], { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, KEY_PREPUBLISH: `${PREPUBLISH}s`, LOG_LEVEL: 'silent' }, gh.config.dataDir);
  t.equal(rotated.code, 0, rotated.stderr);
  const next = rotated.json().find((k: { alg: string; state: string }) => k.alg === 'ES256' && k.state === 'next');
  await gh.keys.reload();
  t.equal(jose.decodeProtectedHeader(await token()).kid, jose.decodeProtectedHeader(before).kid, 'the old key signs during pre-publication');

  // The server switches at the scheduled moment by itself: ask for tokens until one carries the new kid.
  const activation = Date.parse(next.activates_at);
  let after = await token();
  while (jose.decodeProtectedHeader(after).kid !== next.kid && Date.now() < activation + SWITCH_DEADLINE_MS) {
    await new Promise((r) => setTimeout(r, 250));
    after = await token();
  }
  t.equal(jose.decodeProtectedHeader(after).kid, next.kid, 'the new key signs');
  t.ok(jose.decodeJwt(after).iat! >= Math.floor(activation / 1000), 'not before its scheduled activation');
  t.equal(await profile(after), 200, 'and the running service verifies it');
  t.equal(await profile(before), 200, 'tokens of the retired key still verify');
});
