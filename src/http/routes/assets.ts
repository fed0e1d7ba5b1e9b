import type { FastifyInstance } from 'fastify';
import { STYLESHEET } from '../views/stylesheet.js';

export async function assetRoutes(app: FastifyInstance): Promise<void> {
  app.get('/assets/gatehouse.css', { logLevel: 'warn' }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}
