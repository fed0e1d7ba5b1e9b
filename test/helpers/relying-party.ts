import * as oidc from 'openid-client';
import type { TestApp } from './build-app.ts';
import { hiddenField, UserAgent, type Step } from './user-agent.ts';

/** An app registered with Gatehouse, driven by openid-client (the relying-party library). */
export async function relyingParty(gh: Pick<TestApp, 'issuer'>, client: { client_id: string; client_secret?: string }) {
  return oidc.discovery(
    new URL(gh.issuer),
    client.client_id,
    client.client_secret,
    client.client_secret ? undefined : oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
}

export interface AuthorizationStart {
  url: URL;
  verifier: string;
  state: string;
  nonce?: string;
}

export async function startAuthorization(
  config: oidc.Configuration,
  params: Record<string, string>,
): Promise<AuthorizationStart> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  return { url, verifier, state };
}

/**
 * Walks the pages a person would: login form, then the consent form, until the browser is sent to
 * the app's redirect URI. Returns that last step (its `location` carries the code).
 */
export async function signIn(ua: UserAgent, start: URL, redirectUri: string, email: string, password: string): Promise<Step> {
  let step = await ua.follow(start.href, redirectUri);
  for (let i = 0; i < 4; i++) {
    if (step.location?.startsWith(redirectUri)) return step;
    if (step.status !== 200 && step.status !== 401) throw new Error(`unexpected ${step.status} at ${step.url}: ${step.body.slice(0, 300)}`);
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(step.url)?.[1] ?? /action="\/interaction\/([A-Za-z0-9_-]+)\//.exec(step.body)?.[1];
    if (!uid) throw new Error(`not an interaction page: ${step.url}`);
    const base = new URL(step.url).origin;
    const csrf = hiddenField(step.body, 'csrf');
    if (step.body.includes('name="password"')) {
      step = await ua.follow(`${base}/interaction/${uid}/login`, redirectUri, { form: { csrf, email, password } });
    } else {
      step = await ua.follow(`${base}/interaction/${uid}/confirm`, redirectUri, { form: { csrf } });
    }
  }
  throw new Error('sign-in did not reach the redirect URI');
}
