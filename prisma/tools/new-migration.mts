/**
 * `npm run db:migration -- <name>`: writes the SQL that takes the existing migrations to the current
 * models, for both providers, as prisma/<provider>/migrations/<yyyymmddHHMMSS>_<name>/migration.sql.
 * Needs the local PostgreSQL for its shadow database (PGHOST/PGPORT/PGUSER/PGDATABASE).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffMigrationsToModels, migrationsDir, relativeToPrisma, type Provider } from './schema-engine.mts';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  process.stderr.write('usage: npm run db:migration -- <snake_case_name>\n');
  process.exit(1);
}

const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
let wrote = 0;
for (const provider of ['sqlite', 'postgres'] as Provider[]) {
  const script = await diffMigrationsToModels(provider);
  if (!script) {
    process.stdout.write(`${provider}: models match the migrations, nothing to write\n`);
    continue;
  }
  const folder = join(migrationsDir(provider), `${stamp}_${name}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'migration.sql'), script);
  process.stdout.write(`${provider}: wrote ${relativeToPrisma(folder)}/migration.sql\n`);
  wrote += 1;
}
void wrote;
