import { spawnSync } from 'node:child_process';
import { delimiter, sep } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';

// A hang guard, not a speed requirement: this file runs many server or CLI processes, and on a loaded
// machine (two suites side by side on two cores) such files came within reach of the default 180 s.
t.setTimeout(600_000);

// `npx gatehouse` as README shows it, from a reader's shell (no node_modules/.bin in PATH): npm itself
// may run on an older Node.js than the one Gatehouse runs on, and must not print warnings about it
// (project .npmrc) on every call.
//
// The first `npx gatehouse` in a folder is slow by npm's design: npm 11 runs a package's own bin by
// installing the folder into its cache (~/.npm/_npx/<hash of the path>), which runs the `prepare`
// script, a whole build (40 s of CPU; 62-151 s in CI, two suites side by side). Later calls reuse
// that entry. The limit below is a hang guard only: at 120 s, npm was killed mid-build on a loaded
// machine (exit 1, nothing printed) and the test failed on the machine's speed.
t.test('npx gatehouse prints the command output and nothing else', async (t) => {
  const PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes(`node_modules${sep}.bin`)).join(delimiter);
  const r = spawnSync('npx', ['--no-install', 'gatehouse', '--help'], { cwd: packageRoot(), env: { PATH, HOME: process.env.HOME ?? '/tmp' }, encoding: 'utf8', timeout: 540_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^Usage: gatehouse /m);
  t.equal(r.stderr, '', 'no npm warnings on stderr');
});
