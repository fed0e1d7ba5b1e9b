/**
 * Offline access to Prisma's schema engine (the WebAssembly build), for the two jobs the Prisma CLI
 * cannot do on a machine without its native engine download:
 *   - writing a new migration (diff: existing migrations → current models), and
 *   - proving that the migrations yield exactly the models (that diff is empty).
 * Development-time only: nothing under src/ imports this.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaPg } from '@prisma/adapter-pg';

export type Provider = 'sqlite' | 'postgres';

export const prismaDir = fileURLToPath(new URL('..', import.meta.url));

export function migrationsDir(provider: Provider, root = prismaDir): string {
  return join(root, provider, 'migrations');
}

type SchemaFile = { path: string; content: string };

/** The provider's schema.prisma plus every shared model file, as the engine wants them. */
export async function readSchemaFiles(provider: Provider, root = prismaDir): Promise<SchemaFile[]> {
  const base = join(root, provider);
  const modelsDir = join(base, 'models');
  const names = (await readdir(modelsDir)).filter((n) => n.endsWith('.prisma')).sort();
  const paths = [join(base, 'schema.prisma'), ...names.map((n) => join(modelsDir, n))];
  return Promise.all(paths.map(async (path) => ({ path, content: await readFile(path, 'utf8') })));
}

export async function readMigrationList(provider: Provider, root = prismaDir) {
  const baseDir = migrationsDir(provider, root);
  let entries: string[] = [];
  try {
    entries = (await readdir(baseDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let lock: string | null = null;
  try {
    lock = await readFile(join(baseDir, 'migration_lock.toml'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: lock },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      entries.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(join(baseDir, name, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  };
}

/** Connection for PostgreSQL's shadow database. Discrete fields, not a connection string: adapter-pg
 * replays a connectionString-configured shadow database onto the main database (measured with adapter-pg
 * 7.10: the migration then ran on the main database). */
export type PgShadowOptions = { host: string; port: number; user: string; password?: string; database: string };

type Engine = {
  diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>;
  free(): void;
};

async function loadWasmModule() {
  // Node 20 cannot `import` a .wasm file, so instantiate the bindings by hand.
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@prisma/schema-engine-wasm');
  const bgPath = join(entry, '..', 'schema_engine_bg.js');
  const bindings = await import(bgPath);
  const bytes = await readFile(join(entry, '..', 'schema_engine_bg.wasm'));
  const { WebAssembly: wasm } = globalThis as unknown as {
    WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: object } }> };
  };
  const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': bindings });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  return bindings as { SchemaEngine: { new: (o: unknown, cb: unknown, a: unknown) => Promise<Engine> } };
}

let wasmModule: ReturnType<typeof loadWasmModule> | undefined;

async function openEngine(provider: Provider, root: string, pg?: PgShadowOptions): Promise<Engine> {
  wasmModule ??= loadWasmModule();
  const { SchemaEngine } = await wasmModule;
  const factory = provider === 'sqlite' ? sqliteFactory() : pgFactory(pg ?? defaultPgShadow());
  const files = await readSchemaFiles(provider, root);
  return SchemaEngine.new(
    { datamodels: files.map((f) => [f.path, f.content]) },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory),
  );
}

/** Two gaps between the wasm engine and adapter-libsql:
 * - the adapter's shadow database is `:memory:`, which the libsql client loses whenever it opens a new
 *   connection (after every transaction); a temporary file keeps it for the whole diff;
 * - the engine replays a migration script through `executeRaw`, which libsql runs only up to the first
 *   statement; a parameterless call is sent through `executeScript`, which runs all of it. */
function sqliteFactory(): SqlMigrationAwareDriverAdapterFactory {
  const main = new PrismaLibSql({ url: ':memory:' });
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: () => main.connect(),
    async connectToShadowDb() {
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-shadow-'));
      const shadow = await new PrismaLibSql({ url: `file:${join(dir, 'shadow.db')}` }).connect();
      const executeRaw = shadow.executeRaw.bind(shadow);
      shadow.executeRaw = async (query) => {
        if (query.args.length > 0) return executeRaw(query);
        await shadow.executeScript(query.sql);
        return 0;
      };
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await rm(dir, { recursive: true, force: true });
      };
      return shadow;
    },
  };
}

/** Works around two adapter-pg bugs met by the schema engine:
 * - its shadow database is dropped while its pool still holds a connection, which PostgreSQL refuses;
 * - it cannot describe pg's internal `"char"` type (OID 18), found in the catalog queries; read it as text. */
function pgFactory(options: PgShadowOptions): SqlMigrationAwareDriverAdapterFactory {
  const main = new PrismaPg({ ...options });
  const connect = async (opts: PgShadowOptions) => readCharAsText(await new PrismaPg({ ...opts }).connect());
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: () => connect(options),
    async connectToShadowDb() {
      const admin = await connect(options);
      const database = `gatehouse_shadow_${randomUUID().replaceAll('-', '')}`;
      await admin.executeScript(`CREATE DATABASE "${database}"`);
      const shadow = await connect({ ...options, database });
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        await admin.dispose();
      };
      return shadow;
    },
  };
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

function readCharAsText<T extends object>(adapter: T): T {
  type IO = (query: unknown) => Promise<{ fields: { dataTypeID: number }[] }>;
  const target = adapter as unknown as { performIO: IO };
  const performIO = target.performIO.bind(adapter);
  target.performIO = async (query) => {
    const result = await performIO(query);
    for (const field of result.fields) if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    return result;
  };
  return adapter;
}

export function defaultPgShadow(): PgShadowOptions {
  return {
    host: process.env.PGHOST ?? '127.0.0.1',
    port: Number(process.env.PGPORT ?? 5432),
    user: process.env.PGUSER ?? 'postgres',
    ...(process.env.PGPASSWORD ? { password: process.env.PGPASSWORD } : {}),
    database: process.env.PGDATABASE ?? 'postgres',
  };
}

/** SQL that would take a database built by the migrations to the current models ('' when none).
 * `root` is the prisma folder (a copy, in the test that proves drift is caught). */
export async function diffMigrationsToModels(
  provider: Provider,
  options: { root?: string; pg?: PgShadowOptions } = {},
): Promise<string> {
  const root = options.root ?? prismaDir;
  const engine = await openEngine(provider, root, options.pg);
  try {
    const files = await readSchemaFiles(provider, root);
    const result = await engine.diff({
      from: { tag: 'migrations', ...(await readMigrationList(provider, root)) },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return normalizeScript(result.stdout ?? '');
  } finally {
    engine.free();
  }
}

/** The engine prints a comment for an empty diff; treat whitespace and that comment as nothing. */
function normalizeScript(script: string): string {
  const meaningful = script
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^-- This is an empty migration\.?$/.test(line.trim()));
  return meaningful.length === 0 ? '' : script;
}

export function relativeToPrisma(path: string): string {
  return relative(prismaDir, path);
}
