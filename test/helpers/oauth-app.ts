import type { GatehouseDeployment } from './gatehouse-process.ts';
import type { TestDatabase } from './databases.ts';
import { relyingParty, signIn, startAuthorization } from './relying-party.ts';
import { basic, postForm } from './tokens.ts';
import { UserAgent } from './user-agent.ts';

/** A web app and its users against a Gatehouse deployment run as processes (gatehouse-process.ts). */

export const REDIRECT = 'https://app.example.com/callback';

export interface App {
  client_id: string;
  client_secret: string;
  auth: string;
}

/** The deployment's database, for the raw-driver checks of databases.ts. */
export const databaseOf = (d: GatehouseDeployment): TestDatabase => ({ kind: d.kind, url: d.databaseUrl });

/** `gatehouse <args> --json`; throws unless it exits 0. */
export async function cliJson(d: GatehouseDeployment, args: string[], stdin?: string): Promise<Record<string, unknown>> {
  const r = await d.cli([...args, '--json'], stdin);
  if (r.code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** A confidential web app with the code and refresh grants, registered through the CLI. */
export async function registerWebApp(d: GatehouseDeployment): Promise<App> {
  const c = await cliJson(d, ['clients', 'create', '--name', 'web app', '--redirect-uri', REDIRECT, '--grant', 'authorization_code', '--grant', 'refresh_token', '--scope', 'openid email offline_access']);
  return { client_id: String(c.client_id), client_secret: String(c.client_secret), auth: basic(String(c.client_id), String(c.client_secret)) };
}

/** A person signs in through the pages and consents; returns the authorization code and its PKCE verifier. */
export async function authorizationCode(issuer: string, app: App, email: string, password: string) {
  const config = await relyingParty({ issuer }, app);
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  const step = await signIn(new UserAgent(), start.url, REDIRECT, email, password);
  return { code: new URL(step.location!).searchParams.get('code')!, verifier: start.verifier };
}

export const redeemCode = (issuer: string, app: App, c: { code: string; verifier: string }): ReturnType<typeof postForm> =>
  postForm(`${issuer}/token`, { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT }, app.auth);

export const refreshWith = (issuer: string, app: App, token: string): ReturnType<typeof postForm> =>
  postForm(`${issuer}/token`, { grant_type: 'refresh_token', refresh_token: token }, app.auth);
