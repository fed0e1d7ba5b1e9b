import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { jsonErrors } from '../schemas.js';
import { stylesheetWith } from '../views/stylesheet.js';

/** The stylesheet, with the operator's accent colour (ACCENT_COLOR) when one is set. */
export const assetRoutes = (options: { accentColor: string | null }) => async function assets(app: FastifyInstance): Promise<void> {
  const stylesheet = stylesheetWith(options.accentColor);
  // A string (text/css), sent as it is.
  const schema = { response: { 200: Type.String({ description: 'the stylesheet (text/css)' }), ...jsonErrors } };
  app.get('/assets/gatehouse.css', { logLevel: 'warn', schema }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(stylesheet),
  );
};
