import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { packageRoot } from '../../lib/package-root.js';
import { jsonErrors } from '../schemas.js';
import { stylesheetWith } from '../views/stylesheet.js';

/** The stylesheet, with the operator's accent colour (ACCENT_COLOR) when one is set; and the one
 * script of our pages (src/assets/passkeys.js: WebAuthn for passkeys), read once at start. */
export const assetRoutes = (options: { accentColor: string | null }) => async function assets(app: FastifyInstance): Promise<void> {
  const stylesheet = stylesheetWith(options.accentColor);
  // A string (text/css), sent as it is.
  const schema = { response: { 200: Type.String({ description: 'the stylesheet (text/css)' }), ...jsonErrors } };
  app.get('/assets/gatehouse.css', { logLevel: 'warn', schema }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(stylesheet),
  );
  const script = readFileSync(join(packageRoot(), 'src', 'assets', 'passkeys.js'), 'utf8');
  const scriptSchema = { response: { 200: Type.String({ description: 'the passkeys script (text/javascript)' }), ...jsonErrors } };
  app.get('/assets/passkeys.js', { logLevel: 'warn', schema: scriptSchema }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(script),
  );
};
