import * as jose from 'jose';
import t from 'tap';
import { createVerifier, VerifierError } from '../../src/verifier/index.ts';
import { DEFAULT_KIND } from '../helpers/databases.ts';
import { gatehouseDeployment, type GatehouseServer } from '../helpers/gatehouse-process.ts';
import { cliJson } from '../helpers/oauth-app.ts';
import { basic } from '../helpers/tokens.ts';
import { waitUntil } from '../helpers/wait-until.ts';

/**
 * An operator revokes one access token by its jti with the CLI, as its own process beside a running
 * server: the server's revocation feed lists it (the feed is read from the database), and a verifier
 * polling that feed refuses the token while another token of the same client still passes.
 */

const API = 'https://orders.example.com';
/** A hang guard for a loaded machine, not a speed requirement. */
const HANG_MS = 30_000;

async function clientToken(server: GatehouseServer, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'orders:read' }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'verified',
    (err: unknown) => (err instanceof VerifierError ? err.code : `not a VerifierError: ${String(err)}`),
  );

t.setTimeout(300_000);
t.test(`${DEFAULT_KIND}: gatehouse tokens revoke <jti> beside a running server → in the feed, refused by a verifier`, async (t) => {
  const gh = await gatehouseDeployment(t, DEFAULT_KIND);
  const server = await gh.start();
  await cliJson(gh, ['resources', 'create', '--audience', API, '--scope', 'orders:read']);
  const job = await cliJson(gh, ['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API, '--scope', 'orders:read']);
  const revoked = await clientToken(server, String(job.client_id), String(job.client_secret));
  const kept = await clientToken(server, String(job.client_id), String(job.client_secret));
  const jti = jose.decodeJwt(revoked).jti!;

  const verifier = createVerifier({ issuer: server.url, audience: API, revocation: { pollInterval: 200 } });
  t.teardown(() => verifier.close());
  t.equal(await codeOf(verifier.verify(revoked)), 'verified', 'the token works before');

  const out = await cliJson(gh, ['tokens', 'revoke', jti, '--reason', 'leaked in a log']);
  t.equal(out.jti, jti);
  t.equal(out.revoked, true);
  t.ok(Date.parse(String(out.listed_until)) >= jose.decodeJwt(revoked).exp! * 1000, 'listed at least until the token expires');

  // The server's feed lists it (signed, read through the JWKS).
  const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri!));
  let tokens: string[] = [];
  await waitUntil(
    async () => {
      const jws = await (await fetch(discovery.gatehouse_revocation_feed_uri!)).text();
      tokens = (await jose.jwtVerify(jws, jwks, { issuer: server.url, typ: 'revocation-feed+jwt' })).payload.tokens as string[];
      return tokens.includes(jti);
    },
    'the feed lists the jti',
    HANG_MS,
  );
  t.same(tokens, [jti], 'only that token is listed');

  await waitUntil(async () => (await codeOf(verifier.verify(revoked))) === 'ERR_TOKEN_REVOKED', 'the verifier refuses the token', HANG_MS);
  t.pass('the verifier refuses the revoked token (ERR_TOKEN_REVOKED)');
  t.equal(await codeOf(verifier.verify(kept)), 'verified', "the client's other token still passes");

  // Audited, with who and why; the text output says where it is listed.
  const audit = (await cliJson(gh, ['audit', '--type', 'access_token.revoked'])) as unknown as Array<{ detail: Record<string, unknown> }>;
  t.match(audit, [{ detail: { jti, reason: 'leaked in a log', by: 'cli' } }]);
  const text = await gh.cli(['tokens', 'revoke', jti]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^revoked access token ${jti}; listed in the revocation feed until \\d{4}-`));
});

t.test('bad input: a whole token, a malformed id, no id — a clear error, exit 1, nothing written', async (t) => {
  const gh = await gatehouseDeployment(t, DEFAULT_KIND);
  const migrated = await gh.cli(['migrate']);
  t.equal(migrated.code, 0, migrated.stderr);
  const whole = await gh.cli(['tokens', 'revoke', 'eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.c2ln']);
  t.equal(whole.code, 1);
  t.match(whole.stderr, /jti: this looks like a whole token; give its jti claim/);
  const bad = await gh.cli(['tokens', 'revoke', 'not a jti!']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /jti: must be a token id/);
  const none = await gh.cli(['tokens', 'revoke']);
  t.equal(none.code, 1);
  t.match(none.stderr, /missing argument <jti>; see gatehouse tokens revoke --help/);
  const json = await gh.cli(['tokens', 'revoke', 'short', '--json']);
  t.equal(json.code, 1);
  t.match(JSON.parse(json.stdout), { error: 'invalid_request', error_description: /^jti: / });
  t.same(await cliJson(gh, ['audit', '--type', 'access_token.revoked']), [], 'nothing audited');
});
