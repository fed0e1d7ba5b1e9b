import { join } from 'node:path';
import type { Test } from 'tap';
import type { DatabaseKind } from '../../src/config/schema.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';
import { seedKeyring } from './keys.ts';
import { CLI_JS, freePort, MAIN_JS, runProcess, startProcess, waitForStatus, type RunningProcess } from './processes.ts';
import { relyingParty, signIn, startAuthorization } from './relying-party.ts';
import { tempDir } from './temp-dir.ts';
import { basic, postForm } from './tokens.ts';
import { UserAgent } from './user-agent.ts';

/** A deadlock guard only: how long a (re)started server may take to answer /readyz on a loaded machine. */
const READY_WITHIN_MS = 120_000;

/**
 * The server as an operator runs it (`node dist/main.js`), on its own data folder, keys and database,
 * restartable on the same data; the CLI (`node dist/cli/main.js`) with the same environment.
 */
export interface ServerHarness {
  kind: DatabaseKind;
  dir: string;
  db: TestDatabase;
  issuer: string;
  env: Record<string, string>;
  /** Starts a server process and resolves once /readyz answers 200. */
  start(): Promise<RunningProcess>;
  /** `gatehouse <args> --json`; fails the test unless it exits 0. */
  cli(args: string[], stdin?: string): Promise<Record<string, unknown>>;
}

export async function serverHarness(t: Test, kind: DatabaseKind, extraEnv: Record<string, string> = {}): Promise<ServerHarness> {
  const root = await tempDir(t);
  await seedKeyring(join(root, 'keys'));
  const db = kind === 'sqlite' ? { kind, url: `file:${join(root, 'data', 'gatehouse.db')}` } : await createTestDatabase(t, kind);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = {
    PORT: String(port),
    ISSUER: issuer,
    DATA_DIR: join(root, 'data'),
    KEYS_DIR: join(root, 'keys'),
    DATABASE_URL: db.url,
    SECRETS: 'durability-test-secret-long-enough-0001',
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  return {
    kind,
    dir: root,
    db,
    issuer,
    env,
    async start() {
      const server = startProcess(t, MAIN_JS, [], env, root);
      await Promise.race([
        waitForStatus(`${issuer}/readyz`, 200, READY_WITHIN_MS),
        server.exited.then((code) => {
          throw new Error(`the server exited (${code}) before it was ready: ${server.output()}`);
        }),
      ]);
      return server;
    },
    async cli(args, stdin) {
      const r = await runProcess(CLI_JS, [...args, '--json'], env, root, stdin);
      if (r.code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    },
  };
}

export const REDIRECT = 'https://app.example.com/callback';

export interface App {
  client_id: string;
  client_secret: string;
  auth: string;
}

/** A confidential web app with the code and refresh grants, registered through the CLI. */
export async function registerWebApp(h: ServerHarness): Promise<App> {
  const c = await h.cli(['clients', 'create', '--name', 'web app', '--redirect-uri', REDIRECT, '--grant', 'authorization_code', '--grant', 'refresh_token', '--scope', 'openid email offline_access']);
  return { client_id: String(c.client_id), client_secret: String(c.client_secret), auth: basic(String(c.client_id), String(c.client_secret)) };
}

/** A person signs in through the pages and consents; returns the authorization code and its PKCE verifier. */
export async function authorizationCode(issuer: string, app: App, email: string, password: string) {
  const config = await relyingParty({ issuer }, app);
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  const step = await signIn(new UserAgent(), start.url, REDIRECT, email, password);
  return { code: new URL(step.location!).searchParams.get('code')!, verifier: start.verifier };
}

export const redeemCode = (issuer: string, app: App, c: { code: string; verifier: string }) =>
  postForm(`${issuer}/token`, { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT }, app.auth);

export const refreshWith = (issuer: string, app: App, token: string) =>
  postForm(`${issuer}/token`, { grant_type: 'refresh_token', refresh_token: token }, app.auth);
