/**
 * The ceiling: a bare oidc-provider with its in-memory adapter, the same signing keys and the same
 * client and API as the Gatehouse under test, nothing else (no database, no fastify, no logging).
 * Started by bench/run.ts; prints "ready <port>" when listening.
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import Provider from 'oidc-provider';

const [keysFile, clientId, clientSecret, audience, scope, portText] = process.argv.slice(2);
const jwks = JSON.parse(await readFile(keysFile!, 'utf8'));
const port = Number(portText);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  jwks,
  clients: [{ client_id: clientId!, client_secret: clientSecret!, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => audience!,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({ scope: scope!, audience: audience!, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
  ttl: { ClientCredentials: 600 },
});
const handler = provider.callback();
createServer((req, res) => void handler(req, res)).listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${port}\n`);
});
