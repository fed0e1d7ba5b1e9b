/**
 * The ceiling: a bare oidc-provider with its in-memory adapter, the same signing keys, clients and API
 * as the Gatehouse under test, nothing else (no database, no fastify, no logging). Refresh tokens for
 * the refresh scenario are minted in-process (`GET /bench/refresh-tokens?n=16`), each of its own grant,
 * as a sign-in would have left them. Started by bench/run.ts; prints "ready <port>" when listening.
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import Provider from 'oidc-provider';

const [keysFile, fixtureFile, audience, scope, portText] = process.argv.slice(2);
const jwks = JSON.parse(await readFile(keysFile!, 'utf8'));
const fixture = JSON.parse(await readFile(fixtureFile!, 'utf8')) as {
  service: { client_id: string; client_secret: string };
  webApp: { client_id: string; client_secret: string };
  redirect: string;
};
const port = Number(portText);
const issuer = `http://localhost:${port}`;
const OFFLINE = 'openid email offline_access';

const provider = new Provider(issuer, {
  jwks,
  clients: [
    { client_id: fixture.service.client_id, client_secret: fixture.service.client_secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    {
      client_id: fixture.webApp.client_id,
      client_secret: fixture.webApp.client_secret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [fixture.redirect],
      id_token_signed_response_alg: 'RS256',
    },
  ],
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, email: 'bench@example.com', email_verified: true }) }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false,
  rotateRefreshToken: () => true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => audience!,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({ scope: scope!, audience: audience!, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
  ttl: { ClientCredentials: 600, AccessToken: 600, RefreshToken: 14 * 86400, Grant: 30 * 86400, IdToken: 3600 },
});

async function mintRefreshTokens(n: number): Promise<string[]> {
  const client = await provider.Client.find(fixture.webApp.client_id);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const grant = new provider.Grant({ accountId: `bench-${i}`, clientId: client!.clientId });
    grant.addOIDCScope(OFFLINE);
    grant.addResourceScope(audience!, scope!);
    const grantId = await grant.save();
    const token = new provider.RefreshToken({ accountId: `bench-${i}`, client: client!, grantId, scope: `${OFFLINE} ${scope}`, resource: audience, gty: 'authorization_code', authTime: Math.floor(Date.now() / 1000) });
    out.push(await token.save());
  }
  return out;
}

const handler = provider.callback();
createServer((req, res) => {
  if (req.url?.startsWith('/bench/refresh-tokens')) {
    const n = Number(new URL(req.url, issuer).searchParams.get('n') ?? 16);
    void mintRefreshTokens(n).then((tokens) => res.end(JSON.stringify(tokens)));
    return;
  }
  void handler(req, res);
}).listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${port}\n`);
});
