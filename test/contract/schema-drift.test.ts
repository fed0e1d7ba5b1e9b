import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { diffMigrationsToModels, prismaDir, type PgShadowOptions } from '../../prisma/tools/schema-engine.mts';
import { PG_ADMIN_URL } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/**
 * The migrations are the schema on every database; the models are what the code is typed against.
 * Prisma's own schema engine (offline, WebAssembly) replays the migrations into a scratch database and
 * diffs the result against the models: the diff must be empty on both providers.
 */
const url = new URL(PG_ADMIN_URL);
const pg: PgShadowOptions = {
  host: url.hostname,
  port: Number(url.port || 5432),
  user: decodeURIComponent(url.username || 'postgres'),
  ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  database: url.pathname.slice(1) || 'postgres',
};

for (const provider of ['sqlite', 'postgres'] as const) {
  t.test(`${provider}: the migrations build exactly the models`, async (t) => {
    t.equal(await diffMigrationsToModels(provider, { pg }), '');
  });

  t.test(`${provider}: a model changed without a migration is caught`, async (t) => {
    const root = join(await tempDir(t), 'prisma');
    await cp(prismaDir, root, { recursive: true, verbatimSymlinks: true });
    const models = join(root, 'models', 'users.prisma');
    const text = await readFile(models, 'utf8');
    await writeFile(models, text.replace('  email              String    @unique', '  email              String    @unique\n  nickname           String?'));
    const diff = await diffMigrationsToModels(provider, { root, pg });
    t.match(diff, /nickname/, 'the drift names the new column');
  });
}
