/**
 * A bench deployment of Gatehouse: a fresh data directory (SQLite) or database (PostgreSQL), an API,
 * a client-credentials client, a web app with the code and refresh grants, a person, and refresh
 * tokens obtained through the real sign-in pages. Used by bench/run.ts.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './processes.ts';
import { relyingParty, signIn, startAuthorization } from '../test/helpers/relying-party.ts';
import { basic, postForm } from '../test/helpers/tokens.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { RUNTIME_ENV } from '../src/config/runtime.ts';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const AUDIENCE = 'https://bench.example.com';
export const SCOPE = 'bench:read';
export const REDIRECT = 'https://app.example.com/callback';
export const EMAIL = 'bench@example.com';
export const PASSWORD = 'a long quiet harbour at dusk';

export interface Client {
  client_id: string;
  client_secret: string;
  auth: string;
}

export interface Fixture {
  dir: string;
  env: NodeJS.ProcessEnv;
  service: Client;
  webApp: Client;
}

const cli = (env: NodeJS.ProcessEnv, args: string[], input?: string) =>
  run(process.execPath, [join(root, 'dist', 'cli', 'main.js'), ...args], { env, cwd: root, input });

/** Creates the deployment's data (not yet a server): `databaseUrl` undefined means SQLite in a temp dir. */
/** A new, empty database `name` on the PostgreSQL server at `serverUrl` (dropped first if it exists); its URL. */
export async function freshPostgresDatabase(serverUrl: string, name: string): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.href;
}

export async function createFixture(databaseUrl?: string): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const env: NodeJS.ProcessEnv = {
    // As npm start runs the server (the shell's own value wins, as there).
    ...RUNTIME_ENV,
    ...process.env,
    DATA_DIR: join(dir, 'data'),
    KEYS_DIR: join(dir, 'keys'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    NODE_ENV: 'development',
    // The bench signs in one person from one address many times; the defense is measured separately.
    LOGIN_FREE_ATTEMPTS: '1000',
    IP_FAILURE_LIMIT: '1000000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  await cli(env, ['migrate', '--json']);
  await cli(env, ['resources', 'create', '--audience', AUDIENCE, '--scope', SCOPE, '--json']);
  const parse = (out: string): Client => {
    const c = JSON.parse(out) as { client_id: string; client_secret: string };
    return { client_id: c.client_id, client_secret: c.client_secret, auth: basic(c.client_id, c.client_secret) };
  };
  const service = parse(await cli(env, ['clients', 'create', '--name', 'bench service', '--grant', 'client_credentials', '--resource', AUDIENCE, '--json']));
  const webApp = parse(
    await cli(env, ['clients', 'create', '--name', 'bench web app', '--redirect-uri', REDIRECT, '--grant', 'authorization_code', '--grant', 'refresh_token', '--scope', `openid email offline_access ${SCOPE}`, '--resource', AUDIENCE, '--json']),
  );
  await cli(env, ['users', 'create', EMAIL, '--password-stdin', '--verified', '--json'], `${PASSWORD}\n`);
  return { dir, env, service, webApp };
}

/** A signed-in browser's authorization code for the web app (pages, then consent the first time). */
export async function authorizationCode(issuer: string, app: Client, ua: UserAgent): Promise<{ code: string; verifier: string }> {
  const config = await relyingParty({ issuer }, app);
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: `openid email offline_access ${SCOPE}`, prompt: 'consent', resource: AUDIENCE });
  const step = await signIn(ua, start.url, REDIRECT, EMAIL, PASSWORD);
  return { code: new URL(step.location!).searchParams.get('code')!, verifier: start.verifier };
}

/** `n` refresh tokens, each of its own sign-in and grant. */
export async function refreshTokens(issuer: string, app: Client, n: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = await authorizationCode(issuer, app, new UserAgent());
    const r = await postForm(`${issuer}/token`, { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT }, app.auth);
    if (r.status !== 200 || typeof r.json.refresh_token !== 'string') throw new Error(`code exchange: ${r.status} ${r.text.slice(0, 200)}`);
    tokens.push(r.json.refresh_token);
  }
  return tokens;
}

/**
 * `n` authorization codes for the web app as "code verifier" lines, from `lanes` browsers signed in
 * once each (one password check per lane): every further code is a consent page away, as for a person
 * who signs in to the app again.
 */
export async function authorizationCodes(issuer: string, app: Client, n: number, lanes = 8): Promise<string[]> {
  const config = await relyingParty({ issuer }, app);
  const out: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(lanes, n) }, async () => {
      const ua = new UserAgent();
      const first = await authorizationCode(issuer, app, ua);
      out.push(`${first.code} ${first.verifier}`);
      while (out.length < n) {
        const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: `openid email offline_access ${SCOPE}`, prompt: 'consent', resource: AUDIENCE });
        const step = await signIn(ua, start.url, REDIRECT, EMAIL, PASSWORD);
        const code = new URL(step.location!).searchParams.get('code');
        if (!code) throw new Error(`no code at ${step.location}`);
        out.push(`${code} ${start.verifier}`);
      }
    }),
  );
  return out.slice(0, n);
}

/**
 * The bare oidc-provider (bench/bare-provider.ts) as the ceiling for this fixture: the keys Gatehouse
 * wrote on its first start, the same clients and API. Writes its two input files into the fixture's
 * directory and returns the arguments after the node options.
 */
export async function bareProviderArgs(fixture: Fixture, port: number): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(fixture.env.KEYS_DIR!, 'manifest.json'), 'utf8')) as { keys: { kid: string }[] };
  const keys = await Promise.all(manifest.keys.map(async (k) => JSON.parse(await readFile(join(fixture.env.KEYS_DIR!, `${k.kid}.json`), 'utf8')) as unknown));
  const keysFile = join(fixture.dir, 'bare-jwks.json');
  const fixtureFile = join(fixture.dir, 'bare-fixture.json');
  await writeFile(keysFile, JSON.stringify({ keys }), { mode: 0o600 });
  await writeFile(fixtureFile, JSON.stringify({ service: fixture.service, webApp: fixture.webApp, redirect: REDIRECT }), { mode: 0o600 });
  return ['--import', 'tsx', join(root, 'bench', 'bare-provider.ts'), keysFile, fixtureFile, AUDIENCE, SCOPE, String(port)];
}
