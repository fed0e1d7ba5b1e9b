/**
 * The WebAuthn relying party is the issuer: RP ID = its host name (WebAuthn §5.1.3: a registrable
 * domain suffix of the origin, without port), expected origin = its origin. Derived from ISSUER,
 * never from the request (docs/security.md: every URL we produce is built from ISSUER).
 */
export interface RelyingParty {
  id: string;
  origin: string;
  name: string;
}

export function relyingPartyOf(issuer: string, name: string): RelyingParty {
  const url = new URL(issuer);
  return { id: url.hostname, origin: url.origin, name };
}
