import * as oidc from 'openid-client';
import { hiddenField, UserAgent, type Step } from './user-agent.ts';

export interface LoginAttempt {
  status: number;
  body: string;
  retryAfter: string | null;
  /** Where a successful login sends the browser next. */
  location: string | undefined;
}

/**
 * One login as a person would make it: start an authorization at the app, open the login page, post
 * the form. `ua` carries cookies (the device cookie) and default headers (X-Forwarded-For).
 */
export async function attemptLogin(config: oidc.Configuration, redirectUri: string, ua: UserAgent, email: string, password: string): Promise<LoginAttempt> {
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
  });
  const page: Step = await ua.follow(url.href, redirectUri);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(page.url)?.[1];
  if (!uid || page.status !== 200) throw new Error(`no login page (${page.status} at ${page.url}): ${page.body.slice(0, 200)}`);
  const res = await ua.request(`${new URL(page.url).origin}/interaction/${uid}/login`, { form: { csrf: hiddenField(page.body, 'csrf'), email, password } });
  return { status: res.status, body: res.body, retryAfter: res.headers.get('retry-after'), location: res.location };
}
