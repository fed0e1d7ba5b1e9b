import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { jsonErrors } from '../schemas.js';
import { STYLESHEET } from '../views/stylesheet.js';

export async function assetRoutes(app: FastifyInstance): Promise<void> {
  // A string (text/css), sent as it is.
  const schema = { response: { 200: Type.String({ description: 'the stylesheet (text/css)' }), ...jsonErrors } };
  app.get('/assets/gatehouse.css', { logLevel: 'warn', schema }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}
