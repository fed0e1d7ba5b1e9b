import t from 'tap';
import { DEFAULT_KIND } from '../helpers/databases.ts';
import { gatehouseDeployment, type GatehouseServer } from '../helpers/gatehouse-process.ts';
import { cliJson } from '../helpers/oauth-app.ts';
import { basic } from '../helpers/tokens.ts';

/**
 * Changing what exists, as an operator does it: the CLI as its own process beside a server process
 * that has already served tokens. The server reads clients from the database on every request, so a
 * new secret or a changed scope counts at the next request; API definitions within their 5 s cache.
 */

const API = 'https://orders.example.com';
/** A bound for a loaded machine to catch up with the documented 5 s, not a speed requirement. */
const SLACK_MS = 15_000;

async function token(server: GatehouseServer, clientId: string, secret: string, scope?: string) {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }),
  });
  const body = (await res.json()) as { access_token?: string; expires_in?: number; error?: string };
  const claims = body.access_token ? (JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()) as { scope?: string }) : undefined;
  return { status: res.status, error: body.error, expiresIn: body.expires_in, scope: claims?.scope };
}

t.setTimeout(300_000);
t.test(`${DEFAULT_KIND}: rotate-secret, clients update and resources update beside a running server`, async (t) => {
  const gh = await gatehouseDeployment(t, DEFAULT_KIND);
  const server = await gh.start();
  await cliJson(gh, ['resources', 'create', '--audience', API, '--scope', 'orders:read orders:write']);
  const job = await cliJson(gh, ['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API, '--scope', 'orders:read']);
  const id = String(job.client_id);
  const s0 = String(job.client_secret);
  t.equal((await token(server, id, s0, 'orders:read')).status, 200, 'the server has served the client before the CLI runs again');

  // Rotation with the default overlap: both secrets get tokens.
  const first = await cliJson(gh, ['clients', 'rotate-secret', id]);
  const s1 = String(first.client_secret);
  t.not(s1, s0);
  t.type(first.previous_secret_expires_at, 'string');
  t.equal((await token(server, id, s0)).status, 200, 'the old secret still gets tokens during the overlap');
  t.equal((await token(server, id, s1)).status, 200, 'the new secret gets tokens at once');

  // --overlap 0: the secret just replaced is refused at once, and so is the older one.
  const second = await cliJson(gh, ['clients', 'rotate-secret', id, '--overlap', '0']);
  const s2 = String(second.client_secret);
  t.equal(second.previous_secret_expires_at, null);
  const refused = await token(server, id, s1);
  t.same([refused.status, refused.error], [401, 'invalid_client'], 'overlap 0: the replaced secret is refused at once');
  t.equal((await token(server, id, s0)).error, 'invalid_client', 'the first secret too');
  t.equal((await token(server, id, s2)).status, 200, 'the newest secret works');

  // clients update --scope: the next request is judged by the new list (a scope the client may not
  // have is left out of its token).
  const before = await token(server, id, s2, 'orders:write');
  t.equal(before.status, 200);
  t.not(before.scope, 'orders:write', `orders:write is not the client's yet (token scope: ${before.scope ?? 'none'})`);
  const updated = await cliJson(gh, ['clients', 'update', id, '--scope', 'orders:read orders:write']);
  t.same(updated.changed, ['scope']);
  const after = await token(server, id, s2, 'orders:write');
  t.same([after.status, after.scope], [200, 'orders:write'], 'clients update --scope takes effect at the next request');
  await cliJson(gh, ['clients', 'update', id, '--scope', 'orders:read']);
  t.not((await token(server, id, s2, 'orders:write')).scope, 'orders:write', 'and narrowing it too');

  // resources update: within the 5 s API cache.
  t.not((await token(server, id, s2)).expiresIn, 120);
  await cliJson(gh, ['resources', 'update', API, '--ttl', '120']);
  const started = performance.now();
  for (;;) {
    if ((await token(server, id, s2)).expiresIn === 120) break;
    if (performance.now() - started > 5000 + SLACK_MS) throw new Error('the new TTL was not used in time');
    await new Promise((r) => setTimeout(r, 200));
  }
  t.pass(`a changed API TTL reaches the server within the 5 s cache (${Math.round(performance.now() - started)} ms)`);

  const audit = (await gh.cli(['audit', '--json'])).stdout;
  for (const secret of [s0, s1, s2]) t.notOk(audit.includes(secret), 'no secret in the audit log');
  t.notOk(server.process.output().includes(s1) || server.process.output().includes(s2), 'nor in the server log');
  t.equal(await server.stop(), 0);
});
