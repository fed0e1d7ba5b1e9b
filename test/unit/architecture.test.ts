import { readdir, readFile } from 'node:fs/promises';
import { join, normalize, posix, relative } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';

/**
 * Dependency direction (docs/architecture.md, Layers): arrows point inward. This test reads every import in
 * src/ and fails on a wrong-way arrow, so the rule holds without anyone remembering it.
 */
type Import = { spec: string; typeOnly: boolean };
type Source = { file: string; imports: Import[] };

const SRC = join(packageRoot(), 'src');
const DOMAIN = ['accounts/', 'clients/', 'guard/', 'keys/', 'admin/', 'lib/', 'config/', 'revocation/', 'i18n/', 'rendering/', 'errors.ts'];

export function parseImports(text: string): Import[] {
  const found: Import[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    if (m[4]) found.push({ spec: m[4], typeOnly: false });
    else found.push({ spec: m[3]!, typeOnly: Boolean(m[2]) });
  }
  return found;
}

/** A relative import resolved to a path under src/ ('' for packages). */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return '';
  return posix.normalize(posix.join(posix.dirname(file), spec));
}

const within = (file: string, folders: string[]) => folders.some((f) => file === f || file.startsWith(f));

export function violations(sources: Source[]): string[] {
  const out: string[] = [];
  for (const { file, imports } of sources) {
    for (const { spec, typeOnly } of imports) {
      const to = target(file, spec);
      const say = (rule: string) => out.push(`${file} imports ${spec}: ${rule}`);
      if (/^(fastify|@fastify\/|fastify-plugin|@sinclair\/typebox)/.test(spec) && !typeOnly && !within(file, ['http/', 'app.ts'])) {
        say('fastify and its route schemas belong in http/ and the composition root');
      }
      if ((/^(@prisma\/|pg$|@libsql\/)/.test(spec) || to.startsWith('persistence/generated/')) && !typeOnly && !within(file, ['persistence/'])) {
        say('Prisma and database drivers belong in persistence/');
      }
      if (/^oidc-provider/.test(spec) && !typeOnly && !within(file, ['oidc/'])) {
        say('oidc-provider belongs in oidc/');
      }
      if (/^eta(\/|$)/.test(spec) && !within(file, ['rendering/'])) {
        say('the template engine belongs in rendering/; pages and mails ask the presentation');
      }
      if (/^nodemailer/.test(spec) && !typeOnly && !within(file, ['mail/'])) {
        say('mail transports belong in mail/; the use cases only know the Mailer port');
      }
      // verifier/ is also the package @gatehouse/verifier, whose only dependency is jose.
      if (file.startsWith('verifier/') && (to !== '' ? !to.startsWith('verifier/') : !(/^(jose$|node:)/.test(spec) || (typeOnly && spec === 'fastify')))) {
        say("verifier/ is an island: jose and node built-ins only, and fastify's types for its plugin");
      }
      if (within(file, DOMAIN) && !typeOnly && within(to, ['http/', 'oidc/', 'cli/', 'persistence/', 'app', 'main', 'serve'])) {
        say('domain modules take their adapters as arguments; they do not import them');
      }
      // admin/ is a set of use cases (what the CLI and the admin API do); the client and API model they
      // change lives in clients/, which the engine and the stores read.
      if (within(file, ['oidc/', 'persistence/', 'keys/', 'clients/', 'accounts/', 'guard/']) && to.startsWith('admin/')) {
        say('the admin use cases are called by the CLI and the HTTP routes only; shared models live in clients/');
      }
      // The entry point (main) loads the server process (serve) and nothing else does.
      if (!file.startsWith('cli/') && (to.startsWith('cli/') || /^main\.[jt]s$/.test(to) || (/^serve\.[jt]s$/.test(to) && !/^main\.ts$/.test(file)))) {
        say('nothing depends on the CLI or the process entry point');
      }
    }
  }
  return out;
}

async function listSources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(SRC, join(e.parentPath, e.name)).split('\\').join('/'))
    .filter((f) => !f.startsWith('persistence/generated/'));
}

t.test('every import in src/ points the right way', async (t) => {
  const files = await listSources(SRC);
  t.ok(files.length > 10, `read ${files.length} files`);
  const sources = await Promise.all(
    files.map(async (file) => ({ file, imports: parseImports(await readFile(join(SRC, normalize(file)), 'utf8')) })),
  );
  t.same(violations(sources), []);
});

t.test('the checker sees wrong-way arrows (it can fail)', async (t) => {
  const bad: Source[] = [
    { file: 'accounts/login.ts', imports: parseImports("import Fastify from 'fastify';\nimport { db } from '../persistence/database.js';") },
    { file: 'http/routes/x.ts', imports: parseImports("import { PrismaClient } from '@prisma/client';") },
    { file: 'keys/rotate.ts', imports: parseImports("import Provider from 'oidc-provider';") },
    { file: 'accounts/signup.ts', imports: parseImports("import nodemailer from 'nodemailer';") },
    { file: 'verifier/index.ts', imports: parseImports("import { AppError } from '../errors.js';\nimport pino from 'pino';") },
    { file: 'verifier/fastify.ts', imports: parseImports("import fp from 'fastify-plugin';") },
    { file: 'http/server.ts', imports: parseImports("const m = await import('../cli/run-cli.js');") },
    { file: 'oidc/adapter.ts', imports: parseImports("import type { ClientRecord } from '../admin/records.js';") },
    { file: 'persistence/prisma-clients.ts', imports: parseImports("import { createClient } from '../admin/clients.js';") },
    { file: 'admin/clients.ts', imports: parseImports("import { Type } from '@sinclair/typebox';") },
    { file: 'http/views/page.ts', imports: parseImports("import { Eta } from 'eta/core';") },
    { file: 'rendering/presentation.ts', imports: parseImports("import { sendPage } from '../http/views/page.js';") },
  ];
  const found = violations(bad);
  t.equal(found.length, 15, found.join('\n'));
  t.same(
    violations([{ file: 'accounts/login.ts', imports: parseImports("import type { FastifyInstance } from 'fastify';\nimport type { Db } from '../persistence/database.js';") }]),
    [],
    'type-only imports are not arrows at run time',
  );
  t.same(
    violations([{ file: 'verifier/fastify.ts', imports: parseImports("import type { FastifyInstance } from 'fastify';\nimport { jwtVerify } from 'jose';") }]),
    [],
    "the verifier's plugin may use fastify's types",
  );
});

t.test('the composition root is a list: short, and it calls no use case', async (t) => {
  const text = await readFile(join(SRC, 'app.ts'), 'utf8');
  const lines = text.split('\n').length;
  t.ok(lines <= 60, `src/app.ts has ${lines} lines (at most 60: behaviour belongs in the module that owns it)`);
  const targets = parseImports(text).map((i) => target('app.ts', i.spec));
  t.same(targets.filter((to) => to.startsWith('admin/') || to.startsWith('cli/')), [], 'no admin use case or CLI code');
  t.same(
    targets.filter((to) => to.startsWith('keys/') && to !== 'keys/key-runtime.js'),
    [],
    'the keys are reached through their runtime (keys/key-runtime.ts), not assembled here',
  );
  const functions = [...text.matchAll(/\bfunction\s+(\w+)|const\s+(\w+)\s*=\s*(async\s*)?\([^)]*\)\s*=>/g)].map((m) => m[1] ?? m[2]);
  t.same(functions, ['buildApp'], 'buildApp is the only function it defines');
});
