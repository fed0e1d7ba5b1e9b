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
t.test('npx gatehouse prints the command output and nothing else', async (t) => {
  const PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes(`node_modules${sep}.bin`)).join(delimiter);
  const r = spawnSync('npx', ['--no-install', 'gatehouse', '--help'], { cwd: packageRoot(), env: { PATH, HOME: process.env.HOME ?? '/tmp' }, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^Usage: gatehouse /m);
  t.equal(r.stderr, '', 'no npm warnings on stderr');
});
