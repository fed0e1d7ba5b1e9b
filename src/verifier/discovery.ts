import type { FetchJson } from './fetch-json.js';

/** What the verifier reads from the issuer's metadata. */
export interface IssuerMetadata {
  jwksUri: URL;
  /** Gatehouse's revocation feed (`gatehouse_revocation_feed_uri`), when the issuer advertises one. */
  revocationFeedUri: URL | undefined;
}

/** The discovery member naming Gatehouse's revocation feed. */
export const FEED_METADATA = 'gatehouse_revocation_feed_uri';

const httpUrl = (value: unknown): URL | undefined => {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  return url && (url.protocol === 'https:' || url.protocol === 'http:') ? url : undefined;
};

/**
 * The issuer's OpenID Provider metadata (OIDC Discovery 1.0 §4). Looked up once: a success is kept
 * for the verifier's life; a failure is thrown and tried again on a later call (the key set's
 * cooldown paces the retries). Concurrent callers share one request.
 */
export function createMetadataLookup(issuer: string, fetchJson: FetchJson): () => Promise<IssuerMetadata> {
  // §4.1: any terminating "/" of the issuer is removed before appending the well-known path.
  const metadataUrl = new URL(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  let found: IssuerMetadata | undefined;
  let pending: Promise<IssuerMetadata> | undefined;
  const load = async (): Promise<IssuerMetadata> => {
    const metadata = (await fetchJson(metadataUrl, 'application/json')) as Record<string, unknown> | null;
    // §4.3: the issuer in the metadata MUST be identical to the one the metadata was fetched for
    // (otherwise an attacker's metadata could point us at its own keys).
    if (metadata?.issuer !== issuer) {
      throw new Error(`${metadataUrl.href} names issuer ${JSON.stringify(metadata?.issuer)}, expected ${JSON.stringify(issuer)}`);
    }
    const jwksUri = httpUrl(metadata.jwks_uri);
    if (!jwksUri) throw new Error(`${metadataUrl.href} has no usable jwks_uri`);
    found = { jwksUri, revocationFeedUri: httpUrl(metadata[FEED_METADATA]) };
    return found;
  };
  return async () => found ?? (pending ??= load().finally(() => (pending = undefined)));
}
