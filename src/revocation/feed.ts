import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { sha256 } from '../lib/digest.js';
import type { Clock } from '../lib/clock.js';
import type { RevocationStore } from './revocation-store.js';

/** The feed's JWS `typ` (RFC 7515 §4.1.9): an access-token verifier (typ at+jwt) never accepts it. */
export const FEED_TYPE = 'revocation-feed+jwt';
/** The discovery metadata member that advertises the feed. */
export const FEED_METADATA = 'gatehouse_revocation_feed_uri';
/** Path of the feed under the issuer. */
export const FEED_PATH = '/revocation-feed';
/** Seconds a resource server (or a cache in between) may reuse one answer. */
export const FEED_MAX_AGE = 1;
/** Milliseconds one instance reuses a built feed: polls from many resource servers cost one query per instance. */
const BUILD_REUSE_MS = 500;
/** Seconds a signed feed is valid: an old copy replayed later is refused. */
const FEED_LIFETIME = 300;

/**
 * The signed document (payload of a compact JWS, header `typ: revocation-feed+jwt`):
 * `{ iss, iat, exp, subjects: [{ sub, not_before }], grants: [ref], tokens: [jti] }`.
 * A verifier refuses an access token whose `sub` is listed with `iat` before `not_before`, whose
 * `gh_grant` is in `grants`, or whose `jti` is in `tokens`. Nothing else is in it: subjects are
 * opaque ids, grants are SHA-256 of a random id, jtis are random.
 */
export interface FeedPayload {
  iss: string;
  iat: number;
  exp: number;
  subjects: Array<{ sub: string; not_before: number }>;
  grants: string[];
  tokens: string[];
}

export interface FeedSigningKey {
  kid: string;
  /** The private ES256 JWK. */
  jwk: JWK;
}

export interface RevocationFeedDeps {
  issuer: string;
  store: Pick<RevocationStore, 'listSince'>;
  clock: Clock;
  /** Longest access-token lifetime plus clock skew, in seconds: older entries are dropped. */
  retentionSeconds(): Promise<number>;
  /** The issuer's current ES256 signing key (undefined: none active, the feed cannot be served). */
  signingKey(): FeedSigningKey | undefined;
  /** Told the size of each feed built (for /metrics). */
  built?(sizes: { subjects: number; grants: number; tokens: number }): void;
}

export interface FeedDocument {
  /** The compact JWS. */
  jws: string;
  /** Strong validator of the entries and the key: equal on every instance for the same content. */
  etag: string;
}

/**
 * The revocation feed of one instance. The database is the source of truth: each build reads it (at
 * most one read per BUILD_REUSE_MS, concurrent requests share it), so every instance serves what any
 * instance (or the CLI) recorded. Signed with the current ES256 key, the one access tokens are signed
 * with, so a verifier trusts it through the JWKS it already has.
 */
export function createRevocationFeed(deps: RevocationFeedDeps) {
  let last: { at: number; doc: Promise<FeedDocument> } | undefined;
  let imported: { kid: string; key: Promise<CryptoKey | Uint8Array> } | undefined;

  const keyFor = (k: FeedSigningKey) => {
    if (imported?.kid !== k.kid) imported = { kid: k.kid, key: importJWK(k.jwk, 'ES256') };
    return imported.key;
  };

  const build = async (): Promise<FeedDocument> => {
    const signing = deps.signingKey();
    if (!signing) throw new Error('no active ES256 signing key');
    const now = deps.clock.now();
    const since = new Date(now.getTime() - (await deps.retentionSeconds()) * 1000);
    // In a fixed order, so equal content gives an equal tag on every instance.
    const entries = (await deps.store.listSince(since)).sort((a, b) => (a.kind === b.kind ? (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0) : a.kind < b.kind ? -1 : 1));
    const subjects: FeedPayload['subjects'] = [];
    const grants: string[] = [];
    const tokens: string[] = [];
    for (const e of entries) {
      if (e.kind === 'subject') subjects.push({ sub: e.ref, not_before: Math.floor(e.notBefore.getTime() / 1000) });
      else if (e.kind === 'grant') grants.push(e.ref);
      else tokens.push(e.ref);
    }
    deps.built?.({ subjects: subjects.length, grants: grants.length, tokens: tokens.length });
    const iat = Math.floor(now.getTime() / 1000);
    const jws = await new SignJWT({ subjects, grants, tokens })
      .setProtectedHeader({ alg: 'ES256', kid: signing.kid, typ: FEED_TYPE })
      .setIssuer(deps.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + FEED_LIFETIME)
      .sign(await keyFor(signing));
    return { jws, etag: `"${sha256(JSON.stringify([signing.kid, subjects, grants, tokens]))}"` };
  };

  return {
    current(): Promise<FeedDocument> {
      const at = deps.clock.now().getTime();
      if (last && at - last.at < BUILD_REUSE_MS && at >= last.at) return last.doc;
      const doc = build();
      last = { at, doc };
      doc.catch(() => {
        if (last?.doc === doc) last = undefined;
      });
      return doc;
    },
  };
}

export type RevocationFeed = ReturnType<typeof createRevocationFeed>;
