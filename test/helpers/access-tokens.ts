import { createPrivateKey, sign, type JsonWebKey } from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import type { Test } from 'tap';
import { readKeyring } from '../../src/keys/keyring-files.ts';
import { signingKey } from '../../src/keys/schedule.ts';
import { buildTestApp, type TestApp } from './build-app.ts';
import type { CountingProxy } from './counting-proxy.ts';
import { createVerifiedUser, PASSWORD, registerApi, registerClient } from './fixtures.ts';
import { relyingParty, signIn, startAuthorization } from './relying-party.ts';
import { basic } from './tokens.ts';
import { UserAgent } from './user-agent.ts';

/**
 * Access tokens for resource-server tests: real ones minted by a running Gatehouse, and the forged or
 * wrong ones an attacker (or a confused client) would present, each derived from a real one.
 */

/** A client-credentials token from Gatehouse's token endpoint, as a backend job gets one. */
export async function clientCredentialsToken(
  gh: TestApp,
  client: { client_id: string; client_secret?: string },
  params: { scope?: string; resource?: string } = {},
): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...params });
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(client.client_id, client.client_secret!), 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const json = (await res.json()) as { access_token?: string; error?: string };
  if (res.status !== 200 || !json.access_token) throw new Error(`token endpoint answered ${res.status} ${JSON.stringify(json)}`);
  return json.access_token;
}

/** A real ID token (RS256, `typ: JWT`, `aud` = the client), through the authorization code flow. */
export async function idToken(gh: TestApp, audience: string): Promise<string> {
  const redirect = 'https://app.example.com/callback';
  const client = await registerClient(gh.services, { name: 'Web app', redirectUris: [redirect], grants: ['authorization_code'], resources: [audience] });
  await createVerifiedUser(gh.services, 'idtoken@example.com', PASSWORD);
  const config = await relyingParty(gh, client);
  const start = await startAuthorization(config, { redirect_uri: redirect, scope: 'openid email' });
  const callback = await signIn(new UserAgent(), start.url, redirect, 'idtoken@example.com', PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback.location!), { pkceCodeVerifier: start.verifier, expectedState: start.state });
  return tokens.id_token!;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The same token with one claim changed and the original signature kept. */
export function tamper(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return [header, b64({ ...jose.decodeJwt(token), ...changes }), signature].join('.');
}

/** The real claims under `alg: none` and an empty signature (RFC 7519 §6 "unsecured JWT"). */
export function unsecured(token: string): string {
  const header = jose.decodeProtectedHeader(token);
  return [b64({ ...header, alg: 'none' }), token.split('.')[1], ''].join('.');
}

/**
 * Algorithm confusion: the real claims, `alg: HS256`, the real `kid`, and an HMAC keyed with the
 * issuer's public key (what a naive verifier that takes `alg` from the token would check against).
 */
export async function hmacWithPublicKey(token: string, issuer: string): Promise<string> {
  const header = jose.decodeProtectedHeader(token);
  const { keys } = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: jose.JWK[] };
  const jwk = keys.find((k) => k.kid === header.kid)!;
  const pem = await jose.exportSPKI((await jose.importJWK(jwk, header.alg)) as jose.CryptoKey);
  return new jose.SignJWT(jose.decodeJwt(token))
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: header.kid })
    .sign(new TextEncoder().encode(pem));
}

/** A well-formed access token signed by a key Gatehouse never published. */
export async function signedByStranger(token: string, kid = `stranger-${Math.random().toString(36).slice(2)}`): Promise<string> {
  const { privateKey } = await jose.generateKeyPair('ES256');
  return new jose.SignJWT(jose.decodeJwt(token)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(privateKey);
}

/**
 * Signs `claims` with the issuer's own active key for `alg`, read from its keyring folder: exactly
 * what Gatehouse would have signed (e.g. an hour ago, for an expired token). Signed with node:crypto,
 * so any header (even one jose would refuse to produce) can be sent.
 */
export async function signedByIssuerKey(
  gh: TestApp,
  claims: jose.JWTPayload,
  header: Record<string, unknown> = {},
  alg: 'ES256' | 'RS256' = 'ES256',
): Promise<string> {
  const keyring = await readKeyring(gh.config.keysDir);
  // The signing key at the issuer's own time (its clock, never a second one).
  const entry = signingKey(keyring!.manifest.keys, alg, gh.services.clock.now())!;
  const key = createPrivateKey({ key: keyring!.keys.get(entry.kid)! as JsonWebKey, format: 'jwk' });
  const input = `${b64({ alg, typ: 'at+jwt', kid: entry.kid, ...header })}.${b64(claims)}`;
  // JWS ES256 signatures are r || s (RFC 7518 §3.4), not DER.
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Claims copied from a real token, moved `seconds` into the past. */
export function shifted(token: string, seconds: number): jose.JWTPayload {
  const claims = jose.decodeJwt(token);
  return { ...claims, iat: claims.iat! - seconds, exp: claims.exp! - seconds };
}

export const SHOP_API = 'https://shop.example.com';
export const OTHER_API = 'https://warehouse.example.com';

/** Every way a token can be wrong for SHOP_API, each derived from a real token. */
export interface BadTokens {
  tampered: string;
  expired: string;
  wrongAudience: string;
  wrongIssuer: string;
  idToken: string;
  algNone: string;
  hs256WithPublicKey: string;
  unknownKey: string;
}

export interface ShopScenario {
  gh: TestApp;
  /** A token for SHOP_API with `payments:write orders:read`. */
  withScope: string;
  /** A token for SHOP_API with `orders:read` only. */
  withoutScope: string;
  bad: BadTokens;
}

/**
 * A running Gatehouse with SHOP_API and OTHER_API registered, a backend client allowed both, real
 * tokens, and every bad token. The wrong-issuer token comes from a second running Gatehouse that
 * shares the first one's keyring (a copy of the same test keys), so only its `iss` is wrong.
 * `behind`: the first Gatehouse's public URL (its issuer) is that proxy's.
 */
export async function shopScenario(t: Test, options: { behind?: CountingProxy } = {}): Promise<ShopScenario> {
  const proxy = options.behind;
  const [gh, other] = await Promise.all([
    buildTestApp(t, { listen: true, ...(proxy ? { env: { ISSUER: proxy.url } } : {}) }),
    buildTestApp(t, { listen: true }),
  ]);
  if (proxy) proxy.targetPort = gh.config.port;
  for (const app of [gh, other]) {
    await registerApi(app.services, SHOP_API, 'payments:write orders:read');
    await registerApi(app.services, OTHER_API, 'stock:read');
  }
  const job = { name: 'checkout job', grants: ['client_credentials'], resources: [SHOP_API, OTHER_API] };
  const [client, otherClient] = await Promise.all([registerClient(gh.services, job), registerClient(other.services, job)]);
  const withScope = await clientCredentialsToken(gh, client, { scope: 'payments:write orders:read' });
  const withoutScope = await clientCredentialsToken(gh, client, { scope: 'orders:read' });
  const bad: BadTokens = {
    tampered: tamper(withoutScope, { scope: 'payments:write orders:read' }),
    expired: await signedByIssuerKey(gh, shifted(withScope, 3600)),
    wrongAudience: await clientCredentialsToken(gh, client, { scope: 'stock:read', resource: OTHER_API }),
    wrongIssuer: await clientCredentialsToken(other, otherClient, { scope: 'payments:write orders:read' }),
    idToken: await idToken(gh, SHOP_API),
    algNone: unsecured(withScope),
    hs256WithPublicKey: await hmacWithPublicKey(withScope, gh.issuer),
    unknownKey: await signedByStranger(withScope),
  };
  if (jose.decodeProtectedHeader(bad.wrongIssuer).kid !== jose.decodeProtectedHeader(withScope).kid) {
    throw new Error('the two Gatehouses should share their signing keys');
  }
  return { gh, withScope, withoutScope, bad };
}
