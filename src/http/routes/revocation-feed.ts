import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import { FEED_MAX_AGE, FEED_PATH, type RevocationFeed } from '../../revocation/feed.js';
import { jsonErrors } from '../schemas.js';

/**
 * GET /revocation-feed (advertised in discovery as `gatehouse_revocation_feed_uri`): the signed list of
 * access tokens to refuse before they expire (revocation/feed.ts), for offline verifiers. Public like
 * the JWKS: it names no email, only opaque subject ids, grant hashes and random token ids. Cacheable
 * for FEED_MAX_AGE seconds, with an ETag so a poll that finds nothing new costs a 304.
 */
export function revocationFeedRoutes(feed: RevocationFeed) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const schema = {
      response: {
        200: Type.String({ description: 'the feed, a compact JWS (application/jwt) with typ revocation-feed+jwt' }),
        304: Type.Null({ description: 'unchanged since the ETag in If-None-Match' }),
        ...jsonErrors,
      },
    };
    app.get(FEED_PATH, { logLevel: 'warn', schema }, async (request, reply) => {
      let doc;
      try {
        doc = await feed.current();
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError('temporarily_unavailable', 'the revocation feed cannot be built right now', { cause: err });
      }
      reply.header('cache-control', `public, max-age=${FEED_MAX_AGE}`).header('etag', doc.etag);
      const tags = request.headers['if-none-match'];
      if (tags && tags.split(',').some((tag) => tag.trim().replace(/^W\//, '') === doc.etag)) return reply.code(304).send();
      return reply.type('application/jwt').send(doc.jws);
    });
  };
}
