import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as jose from 'jose';
import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { cli } from '../helpers/cli.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { steppableClock } from '../helpers/clock.ts';

const API = 'https://api.example.com';

async function setup(t: Test, env: Record<string, string> = {}) {
  const gh = await buildTestApp(t, { listen: true, env: { KEY_PREPUBLISH: '1h', ...env } });
  await registerApi(gh.services, API, 'read');
  const c = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const token = async () => {
    const r = await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(c.client_id, c.client_secret!));
    t.equal(r.status, 200);
    return String(r.json.access_token);
  };
  const vars = { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, DATA_DIR: gh.config.dataDir, KEY_PREPUBLISH: env.KEY_PREPUBLISH ?? '1h', LOG_LEVEL: 'silent' };
  const gatehouse = (...argv: string[]) => cli([...argv, '--json'], vars, gh.config.dataDir);
  const jwks = async () => (await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string; alg: string; key_ops?: string[] }[] };
  return { gh, token, gatehouse, jwks };
}

t.test('keys list, rotate, revoke and prune from the CLI, seen by the running server after a reload', async (t) => {
  const { gh, token, gatehouse, jwks } = await setup(t);
  const listed = await gatehouse('keys', 'list');
  t.equal(listed.code, 0, listed.stderr);
  t.same(listed.json().map((k: { state: string }) => k.state), ['active', 'active']);
  t.same(Object.keys(listed.json()[0]).sort(), ['activates_at', 'alg', 'kid', 'published_at', 'removed_at', 'retires_at', 'state', 'use']);
  const oldEs = listed.json().find((k: { alg: string }) => k.alg === 'ES256').kid;

  const before = await token();
  t.equal(jose.decodeProtectedHeader(before).kid, oldEs);

  const rotated = await gatehouse('keys', 'rotate');
  t.equal(rotated.code, 0, rotated.stderr);
  const next = rotated.json().filter((k: { state: string }) => k.state === 'next');
  t.equal(next.length, 2, 'one new key per algorithm, published but not signing');
  await gh.keys.reload();
  const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
  t.match(metrics, new RegExp(`gatehouse_signing_key_active_info\\{alg="ES256",kid="${oldEs}"\\} 1`), '/metrics names the active kid');
  t.match(metrics, /gatehouse_signing_keys\{alg="ES256",state="next"\} 1/);
  const nextChange = Number(/^gatehouse_signing_keys_next_change_timestamp_seconds (\S+)$/m.exec(metrics)![1]);
  t.equal(Math.round(nextChange * 1000), Date.parse(next[0].activates_at), 'and when the next change happens');
  const published = await jwks();
  t.ok(published.keys.some((k) => k.kid === next[0].kid), 'the new key is in the JWKS before it signs');
  t.same(published.keys.find((k) => k.kid === next.find((n: { alg: string }) => n.alg === 'ES256').kid)?.key_ops, ['verify']);
  t.equal(jose.decodeProtectedHeader(await token()).kid, oldEs, 'the old key still signs during pre-publication');

  // Emergency: revoke the signing key; a replacement signs at once, tokens of the old key stop verifying.
  const revoked = await gatehouse('keys', 'revoke', oldEs);
  t.equal(revoked.code, 0, revoked.stderr);
  await gh.keys.reload();
  const after = await token();
  t.not(jose.decodeProtectedHeader(after).kid, oldEs);
  const set = jose.createLocalJWKSet(await jwks());
  await t.resolves(jose.jwtVerify(after, set, { issuer: gh.issuer, audience: API }));
  await t.rejects(jose.jwtVerify(before, set, { issuer: gh.issuer, audience: API }), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'tokens of a revoked key fail');

  const pruned = await gatehouse('keys', 'prune');
  t.same(pruned.json().pruned, [oldEs]);
  const files = (await import('node:fs/promises')).readdir(gh.config.keysDir);
  t.notOk((await files).includes(`${oldEs}.json`), 'its file is gone');
  t.equal((await gatehouse('keys', 'revoke', 'no-such-kid-0000')).code, 2);
  const audit = await gh.services.auditStore.query({ limit: 50 });
  t.same(
    audit.map((e) => e.type).filter((type) => type.startsWith('keys.')).sort(),
    ['keys.pruned', 'keys.revoked', 'keys.rotated'],
    'every key change is audited',
  );
});

t.test('tokens signed before a rotation keep verifying through retirement', async (t) => {
  const { gh, token, gatehouse, jwks } = await setup(t);
  const before = await token();
  t.equal((await gatehouse('keys', 'rotate', '--now')).code, 0);
  await gh.keys.reload();
  const set = jose.createLocalJWKSet(await jwks());
  const { protectedHeader } = await jose.jwtVerify(await token(), set, { issuer: gh.issuer });
  t.not(protectedHeader.kid, jose.decodeProtectedHeader(before).kid, 'the new key signs');
  await t.resolves(jose.jwtVerify(before, set, { issuer: gh.issuer }), 'the retired key is still published');
  const listed = (await gatehouse('keys', 'list')).json();
  const retired = listed.find((k: { kid: string }) => k.kid === jose.decodeProtectedHeader(before).kid);
  t.equal(retired.state, 'retired');
  const keep = Date.parse(retired.removed_at) - Date.parse(retired.retires_at);
  t.equal(keep / 1000, Math.max(gh.config.accessTokenTtl, gh.config.idTokenTtl) + gh.config.clockSkew, 'published for the longest token lifetime plus skew');
});

t.test('the JWKS is cacheable, never past the next change, with an ETag and 304', async (t) => {
  const { gh, gatehouse } = await setup(t, { KEY_PREPUBLISH: '10m' });
  const first = await fetch(`${gh.issuer}/jwks`);
  t.equal(first.headers.get('cache-control'), 'public, max-age=300', 'half the pre-publication window');
  const etag = first.headers.get('etag')!;
  t.match(etag, /^"[A-Za-z0-9_-]{43}"$/);
  const again = await fetch(`${gh.issuer}/jwks`, { headers: { 'if-none-match': etag } });
  t.equal(again.status, 304);
  t.equal(await again.text(), '');
  t.equal((await gatehouse('keys', 'rotate')).code, 0);
  await gh.keys.reload();
  const changed = await fetch(`${gh.issuer}/jwks`, { headers: { 'if-none-match': etag } });
  t.equal(changed.status, 200, 'a new key set has a new ETag');
  t.not(changed.headers.get('etag'), etag);
  const maxAge = Number(/max-age=(\d+)/.exec(changed.headers.get('cache-control')!)![1]);
  t.ok(maxAge <= 300, `max-age ${maxAge} ≤ half the window`);
});

t.test('the JWKS answered again without the engine keeps every header, a max-age that shortens, and follows a key change', async (t) => {
  // The CLI dates the new key by wall time: the server's clock starts there and is then moved by hand.
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock, env: { KEY_PREPUBLISH: '10m' } });
  const vars = { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, DATA_DIR: gh.config.dataDir, KEY_PREPUBLISH: '10m', LOG_LEVEL: 'silent' };
  const answer = async () => {
    const r = await fetch(`${gh.issuer}/jwks`);
    const headers = Object.fromEntries([...r.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'));
    return { status: r.status, id: r.headers.get('x-request-id'), headers, body: await r.text() };
  };
  const answers = [await answer(), await answer(), await answer()];
  t.same(answers.map((a) => a.status), [200, 200, 200]);
  t.same(answers[1]!.headers, answers[0]!.headers, 'the second answer has the first one\'s headers');
  t.same(answers[2]!.headers, answers[0]!.headers, 'and the third');
  t.same(new Set(answers.map((a) => a.body)).size, 1, 'the same key set, byte for byte');
  t.equal(new Set(answers.map((a) => a.id)).size, 3, 'each with its own request id');
  t.match(answers[0]!.headers, { 'content-type': /application\/jwk-set\+json/, 'access-control-allow-origin': '*', 'x-frame-options': 'DENY' });

  const rotated = await cli(['keys', 'rotate', '--json'], vars, gh.config.dataDir);
  t.equal(rotated.code, 0, rotated.stderr);
  const next = rotated.json().filter((k: { state: string }) => k.state === 'next') as { kid: string; activates_at: string }[];
  // The CLI published the new key at its own wall time, a moment after the server's clock stopped.
  clock.advance(5);
  await gh.keys.reload();
  const before = [await answer(), await answer()];
  for (const a of before) t.ok(JSON.parse(a.body).keys.some((k: { kid: string }) => k.kid === next[0]!.kid), 'the new key is published at once');
  t.same(before.map((a) => a.headers['cache-control']), ['public, max-age=300', 'public, max-age=300'], 'half the pre-publication window');
  t.not(before[0]!.headers.etag, answers[0]!.headers.etag, 'a new key set, a new ETag');

  clock.advance(8 * 60);
  const later = await answer();
  const untilChange = Math.floor((Date.parse(next[0]!.activates_at) - clock.now().getTime()) / 1000);
  t.equal(later.headers['cache-control'], `public, max-age=${untilChange}`, 'never cached past the next change');
  t.ok(untilChange > 0 && untilChange <= 120);
  t.equal(later.body, before[0]!.body);
});

t.test('a broken keyring on disk: the running server keeps its last good keys and says why', async (t) => {
  const { gh, token, jwks } = await setup(t);
  const good = await jwks();
  const manifest = join(gh.config.keysDir, 'manifest.json');
  const text = await readFile(manifest, 'utf8');
  await writeFile(manifest, '{ broken', { mode: 0o600 });
  await gh.keys.reload();
  t.same(await jwks(), good, 'same keys published');
  t.ok(await token(), 'still signing');
  const error = gh.logs.find((l) => l.msg === 'keyring not reloaded: keeping the last good key set');
  t.ok(error, 'logged');
  t.match(JSON.stringify(error), /manifest\.json: not valid JSON/);
  t.equal((await fetch(`${gh.issuer}/readyz`)).status, 200, 'still ready: the last good keys are loaded');
  await writeFile(manifest, text, { mode: 0o600 });
  await gh.keys.reload();
  t.ok(await token());
});

t.test('automatic rotation: when due, exactly one of two instances rotates', async (t) => {
  const { steppableClock } = await import('../helpers/clock.ts');
  // Wall time: the in-process server's oidc-provider and its keyring (seeded a day back) measure real time.
  const clock = steppableClock(systemClock.now());
  const env = { KEY_ROTATION_INTERVAL: '30d', KEY_PREPUBLISH: '1h' };
  const first = await buildTestApp(t, { clock, env });
  const second = await buildTestApp(t, { clock, env, keysDir: first.config.keysDir, databaseUrl: first.config.databaseUrl });
  await Promise.all([first.keys.reload(), second.keys.reload()]);
  const count = async () => JSON.parse(await readFile(join(first.config.keysDir, 'manifest.json'), 'utf8')).keys.length;
  t.equal(await count(), 2, 'not due yet: nothing happens');
  clock.advance(31 * 86400);
  await Promise.all([first.keys.reload(), second.keys.reload()]);
  t.equal(await count(), 4, 'one new key per algorithm, once');
  const rotations = await first.services.auditStore.query({ type: 'keys.rotated', limit: 10 });
  t.equal(rotations.length, 1, 'one rotation, audited');
  t.equal(rotations[0]!.detail.automatic, true);
  await Promise.all([first.keys.reload(), second.keys.reload()]);
  t.equal(await count(), 4, 'not due again');
});

t.test('a kid that starts with "-" is given after "--"', async (t) => {
  const { gh } = await setup(t);
  const r = await cli(['keys', 'revoke', '--json', '--', '-not-a-real-kid-000'], { DATABASE_URL: gh.config.databaseUrl, KEYS_DIR: gh.config.keysDir, LOG_LEVEL: 'silent' }, gh.config.dataDir);
  t.equal(r.code, 2, 'parsed as the kid (and not found), not as an option');
  t.match(r.json().error_description, /no key with kid -not-a-real-kid-000/);
});
