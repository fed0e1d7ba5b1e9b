import { ensureAdminResource } from '../admin/admin-resource.js';
import { systemClock } from '../lib/clock.js';
import { openDatabase } from '../persistence/database.js';
import { AppError, UsageError } from '../errors.js';
import { pendingMigrations } from '../persistence/migrate.js';
import { buildServices, type Services } from '../services.js';
import type { CommandContext } from './command.js';

/** As long as `gatehouse migrate` and the schema check wait for PostgreSQL (persistence/migrate.ts). */
const CLI_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Runs `work` with the services over the configured database and closes the database afterwards.
 * Only `gatehouse migrate` and the server's start change the schema: a command run against a
 * database that is missing migrations stops before touching it and says what to run.
 */
export async function withServices<T>(ctx: CommandContext, work: (services: Services) => Promise<T>): Promise<T> {
  const config = await ctx.config();
  const pending = await pendingMigrations(config.databaseKind, config.databaseUrl);
  if (pending.length > 0) {
    throw new AppError(
      'schema_outdated',
      `the database schema is not up to date (${pending.length} migration${pending.length === 1 ? '' : 's'} pending, from ${pending[0]}); run npx gatehouse migrate first (the server also migrates at start)`,
    );
  }
  // One command, run by hand or by a script: on a busy database host it waits for its connection
  // (the server's own pool gives up after 3 s, to answer 503 rather than hang).
  const db = await openDatabase({ databaseUrl: config.databaseUrl, databaseKind: config.databaseKind, logger: ctx.logger, connectTimeoutMs: CLI_CONNECT_TIMEOUT_MS });
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
    if (text.length > limit) throw new UsageError(`standard input is too long (at most ${limit} characters)`);
  }
  return text;
}
