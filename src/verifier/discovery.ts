import type { FetchJson } from './fetch-json.js';

/**
 * The issuer's `jwks_uri`, from its OpenID Provider metadata (OIDC Discovery 1.0 §4). Looked up once:
 * a success is kept for the verifier's life; a failure is thrown and tried again on a later call
 * (the key set's cooldown paces the retries).
 */
export function createJwksUriLookup(issuer: string, fetchJson: FetchJson): () => Promise<URL> {
  // §4.1: any terminating "/" of the issuer is removed before appending the well-known path.
  const metadataUrl = new URL(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  let found: URL | undefined;
  return async () => {
    if (found) return found;
    const metadata = (await fetchJson(metadataUrl, 'application/json')) as { issuer?: unknown; jwks_uri?: unknown } | null;
    // §4.3: the issuer in the metadata MUST be identical to the one the metadata was fetched for
    // (otherwise an attacker's metadata could point us at its own keys).
    if (metadata?.issuer !== issuer) {
      throw new Error(`${metadataUrl.href} names issuer ${JSON.stringify(metadata?.issuer)}, expected ${JSON.stringify(issuer)}`);
    }
    const uri = typeof metadata.jwks_uri === 'string' ? URL.parse(metadata.jwks_uri) : null;
    if (!uri || (uri.protocol !== 'https:' && uri.protocol !== 'http:')) throw new Error(`${metadataUrl.href} has no usable jwks_uri`);
    found = uri;
    return uri;
  };
}
