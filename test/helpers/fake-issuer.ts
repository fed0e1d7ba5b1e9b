import { once } from 'node:events';
import { createServer } from 'node:http';
import * as jose from 'jose';
import type { Test } from 'tap';

/**
 * A stand-in for Gatehouse's discovery and JWKS endpoints that a test controls and counts: which keys
 * it publishes, whether it answers, and how often it was asked. Tokens are signed with keys the test
 * generates, so the key cache can be driven through rotations and outages in milliseconds.
 */
export interface FakeIssuer {
  issuer: string;
  jwksUri: string;
  /** Requests received, by endpoint. */
  hits: { discovery: number; jwks: number; feed?: number };
  /** `up` answers; `error` answers 503; `down` drops the connection; `garbage` answers 200 with a non-JWKS. */
  mode: 'up' | 'error' | 'down' | 'garbage';
  /** The public keys served at the JWKS endpoint. */
  published: jose.JWK[];
  /** The `issuer` its metadata names (default: its own URL). */
  metadataIssuer?: string;
  /** A revocation feed, signed by `key` and advertised in discovery (none by default). */
  feed?: { key: TestKey; entries: { subjects: Array<{ sub: string; not_before: number }>; grants: string[]; tokens: string[] }; now: () => Date; mode: 'up' | 'error'; typ?: string };
}

export interface TestKey {
  kid: string;
  privateKey: jose.CryptoKey;
  jwk: jose.JWK;
}

export async function testKey(kid = `k-${Math.random().toString(36).slice(2, 10)}`, extra: Partial<jose.JWK> = {}): Promise<TestKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig', ...extra } };
}

export async function startFakeIssuer(t: Test): Promise<FakeIssuer> {
  const state: FakeIssuer = { issuer: '', jwksUri: '', hits: { discovery: 0, jwks: 0 }, mode: 'up', published: [] };
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path === '/revocation-feed' && state.feed) {
      state.hits.feed = (state.hits.feed ?? 0) + 1;
      const feed = state.feed;
      if (feed.mode === 'error') return void res.writeHead(503).end();
      const iat = Math.floor(feed.now().getTime() / 1000);
      void new jose.SignJWT(feed.entries)
        .setProtectedHeader({ alg: 'ES256', kid: feed.key.kid, typ: feed.typ ?? 'revocation-feed+jwt' })
        .setIssuer(state.issuer)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 300)
        .sign(feed.key.privateKey)
        .then((jws) => res.writeHead(200, { 'content-type': 'application/jwt' }).end(jws));
      return;
    }
    if (path === '/.well-known/openid-configuration') state.hits.discovery++;
    else if (path === '/jwks') state.hits.jwks++;
    else return void res.writeHead(404).end();
    if (state.mode === 'down') return void req.socket.destroy();
    if (state.mode === 'error') return void res.writeHead(503).end();
    const body =
      path === '/jwks'
        ? state.mode === 'garbage' ? { keys: 'none' } : { keys: state.published }
        : {
            issuer: state.metadataIssuer ?? state.issuer,
            jwks_uri: state.jwksUri,
            ...(state.feed ? { gatehouse_revocation_feed_uri: `${state.issuer}/revocation-feed` } : {}),
          };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  state.issuer = `http://127.0.0.1:${port}`;
  state.jwksUri = `${state.issuer}/jwks`;
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return state;
}

export const API = 'https://api.example.com';

/** An access token as Gatehouse shapes them, signed by `key`, valid for a day from `now`. */
export function accessToken(issuer: string, key: TestKey, now: Date, claims: jose.JWTPayload = {}, header: Partial<jose.JWTHeaderParameters> = {}) {
  const iat = Math.floor(now.getTime() / 1000);
  const payload = { iss: issuer, sub: 'job', aud: API, iat, exp: iat + 86400, client_id: 'job', scope: 'orders:read', jti: Math.random().toString(36), ...claims };
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header }).sign(key.privateKey);
}
