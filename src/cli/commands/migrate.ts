import { migrate } from '../../persistence/migrate.js';
import type { Command } from '../command.js';

export const migrateCommand: Command = {
  path: ['migrate'],
  summary: 'apply database migrations (the server also applies them at start)',
  async run(ctx) {
    const config = await ctx.config();
    const report = await migrate(config.databaseKind, config.databaseUrl);
    const lines = [
      report.applied.length > 0 ? `applied ${report.applied.length}: ${report.applied.join(', ')}` : 'database is up to date',
      ...report.modified.map((m) => `warning: ${m} changed after it was applied`),
      ...report.unknown.map((m) => `warning: ${m} is applied but unknown to this version`),
    ];
    return { data: { database: config.databaseKind, ...report }, text: lines.join('\n') };
  },
};
