import { migrate } from '../../persistence/migrate.js';
import { defineCommand, type Command } from '../command.js';

export const migrateCommand: Command = defineCommand({
  path: ['migrate'],
  examples: [
      'npx gatehouse migrate',
      'DATABASE_URL=postgresql://gatehouse@db/gatehouse npx gatehouse migrate --json',
  ],
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
});
