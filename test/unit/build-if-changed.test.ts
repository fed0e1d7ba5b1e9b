import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/**
 * prisma/tools/build-if-changed.mjs (what `prepare`, so `npm ci` and a first `npx gatehouse`, and
 * `npm test` run): it builds when a build input changed since the last finished build, or an output is
 * missing, and not otherwise. Run in a folder laid out like the project, whose `build` script writes
 * the outputs, counts its runs, and ends as ours does (`--stamp`), or fails when asked to.
 */
const TOOL = 'prisma/tools/build-if-changed.mjs';
const OUTPUTS = ['dist/main.js', 'dist/cli/main.js', 'packages/verifier/dist/core.js', 'src/persistence/generated/sqlite/client.ts', 'src/persistence/generated/postgres/client.ts'];

async function project(t: Test) {
  const root = await tempDir(t);
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  mkdirSync(join(root, 'prisma/tools'), { recursive: true });
  copyFileSync(join(packageRoot(), TOOL), join(root, TOOL));
  // The real build's shape: remove the stamp, fail or make the outputs (dist/ afresh), stamp last.
  const outputs = OUTPUTS.map((o) => `mkdir -p $(dirname ${o}) && echo built > ${o}`).join(' && ');
  write('package.json', JSON.stringify({
    name: 'fixture',
    scripts: {
      build: `rm -f dist/.build-inputs && echo run >> builds.log && test ! -e fail-build && rm -rf dist && ${outputs} && node ${TOOL} --stamp`,
    },
  }));
  write('package-lock.json', '{}');
  write('tsconfig.json', '{}');
  write('prisma/schema.prisma', 'model A { id Int @id }');
  write('src/main.ts', 'export {};');
  write('packages/verifier/package.json', '{}');
  write('packages/verifier/tsconfig.json', '{}');
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [TOOL, ...args], { cwd: root, encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr };
  };
  const builds = () => (existsSync(join(root, 'builds.log')) ? readFileSync(join(root, 'builds.log'), 'utf8').split('\n').filter(Boolean).length : 0);
  return { root, write, run, builds };
}

t.test('builds the first time, then not again until an input changes', async (t) => {
  const p = await project(t);
  t.equal(p.run('--check').code, 1, 'a build is due: none has finished');
  t.equal(p.run().code, 0);
  t.equal(p.builds(), 1);
  t.ok(existsSync(join(p.root, 'dist/.build-inputs')), 'the finished build left its stamp');

  const again = p.run();
  t.equal(again.code, 0);
  t.match(again.out, /dist\/ is current/);
  t.equal(p.builds(), 1, 'nothing changed: no build');
  t.equal(p.run('--check').code, 0);

  for (const [what, path, text] of [
    ['a source file', 'src/main.ts', 'export const a = 1;'],
    ['a new source file', 'src/lib/b.ts', 'export {};'],
    ['a schema', 'prisma/schema.prisma', 'model B { id Int @id }'],
    ['the lockfile (dependency versions)', 'package-lock.json', '{"v":2}'],
    ['the compiler options', 'tsconfig.json', '{"strict":true}'],
    ['the verifier package', 'packages/verifier/tsconfig.json', '{"x":1}'],
  ] as const) {
    const before = p.builds();
    p.write(path, text);
    t.equal(p.run('--check').code, 1, `${what} changed: a build is due`);
    t.equal(p.run().code, 0);
    t.equal(p.builds(), before + 1, `${what} changed: built once`);
    t.equal(p.run().code, 0);
    t.equal(p.builds(), before + 1, `${what}: not built again`);
  }
});

t.test('what the build writes into src/ is not an input; a missing output is a build due', async (t) => {
  const p = await project(t);
  p.run();
  p.write('src/persistence/generated/sqlite/client.ts', 'regenerated differently');
  t.equal(p.run().code, 0);
  t.equal(p.builds(), 1, 'the generated clients are outputs, not inputs');
  for (const output of OUTPUTS) {
    rmSync(join(p.root, output));
    const check = p.run('--check');
    t.equal(check.code, 1, `${output} missing: a build is due`);
    t.match(check.out, /an output is missing/);
    const before = p.builds();
    t.equal(p.run().code, 0);
    t.equal(p.builds(), before + 1);
    t.ok(existsSync(join(p.root, output)), `${output} is back`);
  }
});

t.test('a failed build leaves no stamp: the next run builds again, and says the failure', async (t) => {
  const p = await project(t);
  p.run();
  p.write('src/main.ts', 'export const changed = true;');
  p.write('fail-build', '');
  const failed = p.run();
  t.not(failed.code, 0, 'the failure is the exit status');
  t.notOk(existsSync(join(p.root, 'dist/.build-inputs')), 'no stamp from a build that did not finish');
  rmSync(join(p.root, 'fail-build'));
  // The sources are those the failed build saw, and still a build is due.
  t.equal(p.run('--check').code, 1);
  t.equal(p.run().code, 0);
  t.equal(p.builds(), 3);
  t.equal(p.run().code, 0);
  t.equal(p.builds(), 3);
});
