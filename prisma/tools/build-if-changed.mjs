// `npm run build`, unless the last build was made from exactly these sources: what `prepare` (so
// `npm ci`, and the first `npx gatehouse` in a folder, which npm 11 runs by installing the folder) and
// `npm test` run. The whole build costs ~40 s of CPU; run twice in a row for nothing (npm ci, then
// npm test), or by npx while the tests run servers from dist/, it only cost time or broke them.
//
// The fingerprint is a SHA-256 over the build's inputs (every file's path and bytes): package.json
// (scripts), package-lock.json (the compiler's and Prisma's versions), tsconfig.json, the Prisma
// schemas and tools, src/ (less the Prisma clients it generates) and the verifier package's build
// files. `npm run build` removes it first and writes it last (--stamp, into dist/), so only a build
// that finished leaves one; the build's outputs must be there too. (A source edited while a build
// runs is recorded as built: build again after such an edit.)
//
//   node prisma/tools/build-if-changed.mjs            build if due
//   node prisma/tools/build-if-changed.mjs --check    exit 1 if a build is due, build nothing
//   node prisma/tools/build-if-changed.mjs --stamp    the last step of `npm run build`: record the inputs
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STAMP = join(root, 'dist', '.build-inputs');
const INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'prisma', 'src', 'packages/verifier/package.json', 'packages/verifier/tsconfig.json'];
const GENERATED = join(root, 'src', 'persistence', 'generated');
const OUTPUTS = [
  'dist/main.js',
  'dist/cli/main.js',
  'packages/verifier/dist/core.js',
  'src/persistence/generated/sqlite/client.ts',
  'src/persistence/generated/postgres/client.ts',
];

function files(path) {
  if (path === GENERATED) return [];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => (e.isDirectory() ? files(join(path, e.name)) : e.isFile() ? [join(path, e.name)] : []));
}

function fingerprint() {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    const path = join(root, input);
    if (!existsSync(path)) continue;
    for (const file of statSync(path).isDirectory() ? files(path) : [path]) {
      hash.update(relative(root, file).split(sep).join('/')).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

const current = fingerprint();
if (process.argv.includes('--stamp')) {
  writeFileSync(STAMP, `${current}\n`);
  process.exit(0);
}
const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : '';
const complete = OUTPUTS.every((o) => existsSync(join(root, o)));
if (built === current && complete) {
  console.log('build: dist/ is current (its sources have not changed since it was built)');
  process.exit(0);
}
if (process.argv.includes('--check')) {
  console.log(`build: due (${!built ? 'no finished build' : !complete ? 'an output is missing' : 'the sources changed'})`);
  process.exit(1);
}
const run = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
