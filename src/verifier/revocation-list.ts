import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AccessTokenClaims } from './claims.js';
import type { ResolvedRevocation } from './options.js';

/** The JWS `typ` of Gatehouse's revocation feed; an access token (typ at+jwt) can never pass as one. */
export const FEED_TYPE = 'revocation-feed+jwt';

export interface RevocationListOptions {
  settings: ResolvedRevocation;
  /** The feed URL: from the options, or from discovery (undefined there: the issuer has no feed). */
  feedUri: () => Promise<URL | undefined>;
  /** Whether a missing feed in discovery is a failure (asked for explicitly) or means "off". */
  required: boolean;
  issuer: string;
  algorithms: string[];
  clockTolerance: number;
  /** The issuer's signing keys (the feed is signed like its access tokens). */
  getKey: JWTVerifyGetKey;
  fetch: typeof fetch;
  timeoutDuration: number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export type RevocationVerdict = 'ok' | 'revoked' | 'unavailable';

export interface RevocationList {
  /** Resolves once the first poll has ended (successfully or not); starts polling on first call. */
  ready(): Promise<void>;
  /** In memory, no network: is this verified token revoked, or can that not be told? */
  check(claims: AccessTokenClaims): RevocationVerdict;
  /** Stops polling. */
  close(): void;
}

type Entries = { subjects: Map<string, number>; grants: Set<string>; tokens: Set<string> };

/**
 * Gatehouse's revocation feed, polled every `pollInterval` in the background (a timer that does not
 * keep the process alive) and checked in memory by every `verify()`.
 * - A poll sends the last ETag; a 304 or a new feed counts as fresh. A new feed is accepted only if it
 *   is a JWS signed by the issuer's keys with `typ: revocation-feed+jwt`, its `iss`, and unexpired.
 * - A failed poll keeps the last good feed; it is used until `pollInterval + maxStale` after the last
 *   successful poll. After that (or before any poll succeeded) `check` answers `unavailable`, and the
 *   verifier fails closed or open as configured.
 * - An issuer whose discovery advertises no feed: revocation is off (unless asked for explicitly).
 */
export function createRevocationList(o: RevocationListOptions): RevocationList {
  let entries: Entries | undefined;
  let freshAt = Number.NEGATIVE_INFINITY;
  let etag: string | undefined;
  let disabled = false;
  let started: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const poll = async (): Promise<void> => {
    const uri = await o.feedUri();
    if (!uri) {
      if (!o.required) disabled = true;
      throw new Error('the issuer advertises no revocation feed');
    }
    const response = await o.fetch(uri, {
      headers: { accept: 'application/jwt', ...(etag && entries ? { 'if-none-match': etag } : {}) },
      redirect: 'manual',
      signal: AbortSignal.timeout(o.timeoutDuration),
    });
    if (response.status === 304 && entries) {
      freshAt = o.now();
      return;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`GET ${uri.href} answered HTTP ${response.status}`);
    }
    const jws = await response.text();
    const { payload } = await jwtVerify(jws, o.getKey, {
      issuer: o.issuer,
      typ: FEED_TYPE,
      algorithms: o.algorithms,
      clockTolerance: o.clockTolerance,
      currentDate: new Date(o.now()),
      requiredClaims: ['exp'],
    });
    entries = parse(payload);
    etag = response.headers.get('etag') ?? undefined;
    freshAt = o.now();
  };

  const safePoll = () =>
    poll().catch(() => {
      // Kept: the last good feed and its time; check() decides how long that is good for.
    });

  const loop = () => {
    if (closed || disabled) return;
    timer = setTimeout(() => void safePoll().then(loop), o.settings.pollInterval);
    timer.unref?.();
  };

  return {
    ready() {
      started ??= safePoll().then(() => loop());
      return started;
    },
    check(claims) {
      if (disabled) return 'ok';
      if (!entries || o.now() - freshAt > o.settings.pollInterval + o.settings.maxStale) return 'unavailable';
      const notBefore = entries.subjects.get(claims.sub);
      if (notBefore !== undefined && claims.iat < notBefore) return 'revoked';
      const grant = claims.gh_grant;
      if (typeof grant === 'string' && entries.grants.has(grant)) return 'revoked';
      if (entries.tokens.has(claims.jti)) return 'revoked';
      return 'ok';
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function parse(payload: Record<string, unknown>): Entries {
  const { subjects, grants, tokens } = payload;
  if (!Array.isArray(subjects) || !Array.isArray(grants) || !Array.isArray(tokens)) throw new Error('the revocation feed is malformed');
  const out: Entries = { subjects: new Map(), grants: new Set(), tokens: new Set() };
  for (const s of subjects as unknown[]) {
    const entry = s as { sub?: unknown; not_before?: unknown } | null;
    if (typeof entry?.sub !== 'string' || typeof entry.not_before !== 'number') throw new Error('the revocation feed is malformed');
    out.subjects.set(entry.sub, Math.max(entry.not_before, out.subjects.get(entry.sub) ?? 0));
  }
  for (const g of grants as unknown[]) {
    if (typeof g !== 'string') throw new Error('the revocation feed is malformed');
    out.grants.add(g);
  }
  for (const j of tokens as unknown[]) {
    if (typeof j !== 'string') throw new Error('the revocation feed is malformed');
    out.tokens.add(j);
  }
  return out;
}
