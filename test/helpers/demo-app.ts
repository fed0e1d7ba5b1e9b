import { once } from 'node:events';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';
import type { Test } from 'tap';

/**
 * A tiny web app that signs people in with Gatehouse the way a real one would: /login starts the
 * authorization code flow (PKCE, state, nonce) with openid-client, /callback exchanges the code and
 * keeps the tokens. What the browser ends on is the app's own page.
 */
export interface DemoApp {
  origin: string;
  redirectUri: string;
  /** Token responses the callback received, newest last. */
  tokens: oidc.TokenEndpointResponse[];
  claims: oidc.IDToken[];
  errors: string[];
  /** Sets the client configuration once the client is registered (it needs the redirect URI first). */
  use(config: oidc.Configuration, params?: Record<string, string>): void;
}

export async function startDemoApp(t: Test): Promise<DemoApp> {
  let config: oidc.Configuration | undefined;
  let extra: Record<string, string> = {};
  const pending = new Map<string, { verifier: string; nonce: string }>();
  const app: DemoApp = {
    origin: '',
    redirectUri: '',
    tokens: [],
    claims: [],
    errors: [],
    use(c, params = {}) {
      config = c;
      extra = params;
    },
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', app.origin);
      if (url.pathname === '/login' && config) {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        pending.set(state, { verifier, nonce });
        const to = oidc.buildAuthorizationUrl(config, {
          redirect_uri: app.redirectUri,
          scope: 'openid email',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
          ...extra,
        });
        res.writeHead(302, { location: to.href }).end();
        return;
      }
      if (url.pathname === '/callback' && config) {
        const state = url.searchParams.get('state') ?? '';
        const started = pending.get(state);
        if (!started) throw new Error('unknown state');
        pending.delete(state);
        const tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: started.verifier,
          expectedState: state,
          expectedNonce: started.nonce,
        });
        app.tokens.push(tokens);
        const claims = tokens.claims()!;
        app.claims.push(claims);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Demo</title><h1>Signed in as ${String(claims.email)}</h1>`);
        return;
      }
      res.writeHead(404).end('not found');
    })().catch((err: unknown) => {
      app.errors.push(String(err));
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`callback failed: ${String(err)}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  app.origin = `http://127.0.0.1:${port}`;
  app.redirectUri = `${app.origin}/callback`;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return app;
}
