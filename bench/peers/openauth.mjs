/**
 * A peer for bench/run.ts: OpenAuth 0.4 (@openauthjs/openauth, a standalone OAuth 2.0 issuer an npm
 * user might pick instead of Gatehouse) on Node.js with its in-memory storage, as its documentation
 * sets it up. Its flows that Gatehouse also has: JWKS, discovery (its RFC 8414 document), client
 * credentials (through a provider's `client` hook) and refresh-token rotation. Its sign-in is a
 * provider that answers at once, so the bench can mint refresh tokens through its real code flow
 * (`GET /bench/refresh-tokens?n=16`). bench/run.ts copies this directory to
 * node_modules/.cache/gatehouse-bench-peers and installs it there with `npm ci` when missing; never a
 * dependency of Gatehouse. Prints "ready <port>".
 */
import { createHash, randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { issuer } from '@openauthjs/openauth';
import { createSubjects } from '@openauthjs/openauth/subject';
import { MemoryStorage } from '@openauthjs/openauth/storage/memory';

const port = Number(process.argv[2]);
const [clientId, clientSecret] = [process.argv[3] ?? 'bench-service', process.argv[4] ?? 'bench-secret'];
const REDIRECT = 'http://localhost/callback';
const object = (shape) => ({ '~standard': { version: 1, vendor: 'bench', validate: (value) => ({ value }) }, shape });
const subjects = createSubjects({ user: object({ id: 'string' }), service: object({ id: 'string' }) });

/** Signs whoever arrives in (the bench measures tokens, not a login page); accepts one service client. */
const instant = {
  type: 'instant',
  init(routes, ctx) {
    routes.get('/authorize', (c) => ctx.success(c, { email: 'bench@example.com' }));
  },
  async client({ clientID, clientSecret: secret }) {
    if (clientID !== clientId || secret !== clientSecret) throw new Error('invalid client');
    return { clientID };
  },
};

const app = issuer({
  subjects,
  storage: MemoryStorage(),
  providers: { instant },
  allow: async () => true,
  async success(ctx, value) {
    if (value.clientID) return ctx.subject('service', { id: value.clientID });
    return ctx.subject('user', { id: value.email });
  },
});

/** `n` refresh tokens, each from its own authorization (code flow with PKCE, then the code exchange). */
async function mintRefreshTokens(n) {
  const base = `http://localhost:${port}`;
  const tokens = [];
  for (let i = 0; i < n; i++) {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const query = new URLSearchParams({ provider: 'instant', response_type: 'code', client_id: 'bench-web', redirect_uri: REDIRECT, state: 's', code_challenge: challenge, code_challenge_method: 'S256' });
    let url = `${base}/authorize?${query}`;
    let cookie = '';
    for (let hop = 0; hop < 5 && !url.startsWith(REDIRECT); hop++) {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie } });
      const set = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      if (set) cookie = set;
      url = new URL(res.headers.get('location') ?? '', url).href;
    }
    const code = new URL(url).searchParams.get('code');
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'bench-web', code_verifier: verifier });
    const json = await (await fetch(`${base}/token`, { method: 'POST', body })).json();
    if (!json.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(json)}`);
    tokens.push(json.refresh_token);
  }
  return tokens;
}

serve({
  port,
  hostname: '127.0.0.1',
  fetch: (req) => {
    const url = new URL(req.url);
    if (url.pathname === '/bench/refresh-tokens') return mintRefreshTokens(Number(url.searchParams.get('n') ?? 16)).then((t) => Response.json(t));
    return app.fetch(req);
  },
}, () => process.stdout.write(`ready ${port}\n`));
