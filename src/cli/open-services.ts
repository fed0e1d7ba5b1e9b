import { ensureAdminResource } from '../admin/admin-resource.js';
import { systemClock } from '../lib/clock.js';
import { openDatabase } from '../persistence/database.js';
import { migrate } from '../persistence/migrate.js';
import { buildServices, type Services } from '../services.js';
import type { CommandContext } from './command.js';

/**
 * Runs `work` with the services over the configured database, migrated first (so the CLI works on a
 * fresh machine before the server ever started), and closes the database afterwards.
 */
export async function withServices<T>(ctx: CommandContext, work: (services: Services) => Promise<T>): Promise<T> {
  const config = await ctx.config();
  await migrate(config.databaseKind, config.databaseUrl);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, databaseKind: config.databaseKind, logger: ctx.logger });
  try {
    const services = buildServices({ config, db, logger: ctx.logger, clock: systemClock });
    // The admin API's audience exists before the first start, so an admin client can be created first.
    await ensureAdminResource(services.resources, config.issuer, systemClock);
    return await work(services);
  } finally {
    await db.close();
  }
}

/** Reads standard input to the end (bounded), for secrets that must not appear in argv. */
export async function readStdin(stream: NodeJS.ReadableStream, limit = 64 * 1024): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.length > limit) throw new Error('standard input is too long');
  }
  return text;
}
