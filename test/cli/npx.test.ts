import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { delimiter, join, sep } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';
import { tempDir } from '../helpers/temp-dir.ts';

// A hang guard, not a speed requirement: this file runs many server or CLI processes, and on a loaded
// machine (two suites side by side on two cores) such files came within reach of the default 180 s.
t.setTimeout(600_000);

// `npx gatehouse` as README shows it, from a reader's shell (no node_modules/.bin in PATH): npm itself
// may run on an older Node.js than the one Gatehouse runs on, and must not print warnings about it
// (project .npmrc) on every call.
//
// The first `npx gatehouse` in a folder runs the package's `prepare` script in that folder: npm 11 runs
// a package's own bin by installing the folder into its cache (~/.npm/_npx/<hash of the path>). That
// script builds only when the sources changed since the last build (prisma/tools/build-if-changed.mjs):
// a whole build there took 40 s of CPU and, worse, removed dist/ while other tests ran servers from
// it. A cache of its own makes this call a first one, so `prepare` runs. The limit below is a hang
// guard only.
t.test('npx gatehouse prints the command output and nothing else, and does not rebuild', async (t) => {
  const root = packageRoot();
  const built = () => [statSync(join(root, 'dist/main.js')).mtimeMs, statSync(join(root, 'dist/.build-inputs')).mtimeMs];
  const before = built();
  const PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes(`node_modules${sep}.bin`)).join(delimiter);
  const cache = await tempDir(t);
  const env = { PATH, HOME: process.env.HOME ?? '/tmp', npm_config_cache: cache };
  const r = spawnSync('npx', ['--no-install', 'gatehouse', '--help'], { cwd: root, env, encoding: 'utf8', timeout: 540_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^Usage: gatehouse /m);
  t.equal(r.stderr, '', 'no npm warnings on stderr');
  t.ok(readdirSync(join(cache, '_npx')).length > 0, 'npm installed the folder into the fresh cache (so ran prepare)');
  t.same(built(), before, 'dist/ was not rebuilt (if this fails outside CI: `npm run build` after changing the sources)');
});
