/**
 * The ceiling: a bare oidc-provider with an in-memory adapter (below), the same signing keys, clients and API
 * as the Gatehouse under test, nothing else (no database, no fastify, no logging). Refresh tokens for
 * the refresh scenario are minted in-process (`GET /bench/refresh-tokens?n=16`), each of its own grant,
 * as a sign-in would have left them; so are authorization codes for the code-exchange scenario
 * (`GET /bench/codes?n=1000`: "code verifier" lines, each code of its own grant and PKCE verifier). Started by bench/run.ts; prints "ready <port>" when listening.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';

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

/**
 * oidc-provider's quick-start memory adapter, minus its bound: that one keeps at most 1,000 entries
 * (an LRU), and the code-exchange scenario stores two per code (its grant and the code), so codes were
 * evicted before use. A Map per process; nothing expires (a bench runs minutes).
 */
const rows = new Map<string, AdapterPayload>();
const grantRows = new Map<string, string[]>();
class MemoryAdapter implements Adapter {
  constructor(readonly name: string) {}
  private key(id: string) {
    return `${this.name}:${id}`;
  }
  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    const key = this.key(id);
    rows.set(key, payload);
    if (payload.grantId) {
      const members = grantRows.get(payload.grantId) ?? [];
      members.push(key);
      grantRows.set(payload.grantId, members);
    }
    if (payload.uid) rows.set(`${this.name}:uid:${payload.uid}`, { id } as AdapterPayload);
    if (payload.userCode) rows.set(`${this.name}:userCode:${payload.userCode}`, { id } as AdapterPayload);
  }
  async find(id: string) {
    return rows.get(this.key(id));
  }
  async findByUid(uid: string) {
    const ref = rows.get(`${this.name}:uid:${uid}`) as { id?: string } | undefined;
    return ref?.id ? rows.get(this.key(ref.id)) : undefined;
  }
  async findByUserCode(userCode: string) {
    const ref = rows.get(`${this.name}:userCode:${userCode}`) as { id?: string } | undefined;
    return ref?.id ? rows.get(this.key(ref.id)) : undefined;
  }
  async consume(id: string): Promise<void> {
    const row = rows.get(this.key(id));
    if (row) row.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    rows.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of grantRows.get(grantId) ?? []) rows.delete(key);
    grantRows.delete(grantId);
  }
}

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
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

async function mintCodes(n: number): Promise<string[]> {
  const client = await provider.Client.find(fixture.webApp.client_id);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const accountId = `bench-${i}`;
    const grant = new provider.Grant({ accountId, clientId: client!.clientId });
    grant.addOIDCScope(OFFLINE);
    grant.addResourceScope(audience!, scope!);
    const grantId = await grant.save();
    const verifier = randomBytes(32).toString('base64url');
    // As the authorization endpoint builds one (the typings ask for a `gty` codes do not have).
    const code = new provider.AuthorizationCode({
      accountId,
      client: client!,
      grantId,
      scope: `${OFFLINE} ${scope}`,
      resource: [audience!],
      redirectUri: fixture.redirect,
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      codeChallengeMethod: 'S256',
      authTime: Math.floor(Date.now() / 1000),
    } as never);
    out.push(`${await code.save()} ${verifier}`);
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
  if (req.url?.startsWith('/bench/codes')) {
    const n = Number(new URL(req.url, issuer).searchParams.get('n') ?? 100);
    void mintCodes(n).then((codes) => res.end(JSON.stringify(codes)));
    return;
  }
  void handler(req, res);
}).listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${port}\n`);
});
