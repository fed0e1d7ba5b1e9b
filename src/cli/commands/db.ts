import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { systemClock } from '../../lib/clock.js';
import { createAuditLog } from '../../observability/audit.js';
import { openDatabase, sqlitePath } from '../../persistence/database.js';
import { createPrismaAuditStore } from '../../persistence/prisma-audit.js';
import { backupSqlite } from '../../persistence/sqlite-backup.js';
import { defineCommand, type Command } from '../command.js';

export const dbCommands: Command[] = [
  defineCommand({
    path: ['db', 'backup'],
    examples: [
      'npx gatehouse db backup backups/gatehouse.db',
      'npx gatehouse db backup backups/gatehouse.db --force',
    ],
    args: '<file>',
    summary: 'copy the SQLite database into a new file (mode 0600) while the server runs; PostgreSQL: use pg_dump',
    options: { force: { type: 'boolean', description: 'replace the file if it exists' } },
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one backup file name: gatehouse db backup <file>');
      const config = await ctx.config();
      if (config.databaseKind !== 'sqlite') {
        throw new UsageError('db backup copies the embedded SQLite database; back up PostgreSQL with pg_dump (see README, Backups and restore)');
      }
      const databasePath = sqlitePath(config.databaseUrl);
      // No migration here: a backup reads the database as it is and changes nothing in it.
      const db = await openDatabase({ databaseUrl: config.databaseUrl, databaseKind: 'sqlite', logger: ctx.logger, mustExist: true });
      try {
        const backup = await backupSqlite(db, {
          databasePath,
          target: resolve(ctx.cwd, ctx.positionals[0]!),
          force: ctx.options.force === true,
          clock: systemClock,
        });
        // Whoever copies the database copies every password hash: that is worth an audit event.
        await createAuditLog(createPrismaAuditStore(db.prisma), ctx.logger, systemClock).record({
          type: 'database.backed_up',
          detail: { file: backup.file, bytes: backup.bytes },
        });
        const data = { file: backup.file, bytes: backup.bytes, database: 'sqlite', at: backup.at.toISOString() };
        return { data, text: `backed up ${databasePath} to ${backup.file} (${backup.bytes} bytes, snapshot at ${data.at})` };
      } finally {
        await db.close();
      }
    },
  }),
];
