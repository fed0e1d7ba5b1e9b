// A backend client that gets a DPoP-bound access token (RFC 9449) with openid-client and calls an API
// with it, then shows what a thief holding the token (and a copy of one proof) gets. Run from the
// repository root (openid-client is one of its development dependencies):
//
//   CLIENT_ID=… CLIENT_SECRET=… node examples/dpop-client.mjs http://localhost:4000/profile
//
// Environment: GATEHOUSE_ISSUER (default http://localhost:3000), CLIENT_ID and CLIENT_SECRET (a client
// with the client_credentials grant), API_AUDIENCE (default https://shop.example.com). Prints one JSON
// line per call: what was tried, the status, and the verifier's code.
import * as oidc from 'openid-client';

const issuer = process.env.GATEHOUSE_ISSUER ?? 'http://localhost:3000';
const audience = process.env.API_AUDIENCE ?? 'https://shop.example.com';
const target = new URL(process.argv[2] ?? 'http://localhost:4000/profile');
const insecure = issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : undefined;
const config = await oidc.discovery(new URL(issuer), process.env.CLIENT_ID, process.env.CLIENT_SECRET, undefined, insecure);

// Every proof the client sends, so the "thief" below can reuse one.
let lastProof;
config[oidc.customFetch] = (url, options) => {
  lastProof = new Headers(options.headers).get('dpop') ?? lastProof;
  return fetch(url, options);
};

// The key never leaves this process; openid-client answers Gatehouse's DPoP nonce challenge itself.
const dpop = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
const tokens = await oidc.clientCredentialsGrant(config, { resource: audience }, { DPoP: dpop });
const report = async (step, response) => {
  const body = await response.json().catch(() => ({}));
  console.log(JSON.stringify({ step, token_type: tokens.token_type, status: response.status, ...(body.code ? { code: body.code } : {}) }));
};

await report('with its key', await oidc.fetchProtectedResource(config, tokens.access_token, target, 'GET', undefined, undefined, { DPoP: dpop }));
const used = lastProof;
await report('stolen, as a bearer token', await fetch(target, { headers: { authorization: `Bearer ${tokens.access_token}` } }));
await report('stolen, with a replayed proof', await fetch(target, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: used } }));
