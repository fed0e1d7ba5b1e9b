import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';

/**
 * One source of time (src/lib/clock.ts): every cache, limiter and timestamp in src/ reads the injected
 * Clock, so tests step a clock instead of sleeping. This test reads src/ and fails on a direct read
 * of the wall clock anywhere else. Prisma's generated client is not ours and is left out.
 */
const SRC = join(packageRoot(), 'src');
const EXEMPT = ['lib/clock.ts'];
const EXEMPT_FOLDERS = ['persistence/generated/'];

const WALL_CLOCK = /\bDate\.now\s*\(|\bnew\s+Date\s*\(\s*\)/;

/** `file:line: text` for each line of `text` that reads the wall clock directly. */
export function wallClockReads(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (WALL_CLOCK.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (/\.(ts|js|mjs|cjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

t.test('the check finds what it looks for', async (t) => {
  const planted = [
    'const a = 1;',
    'const started = Date.now();',
    '  const when = new Date();',
    'const later = new Date( );',
    'const fixed = new Date(0);',
    'const parsed = new Date(row.at);',
    'const ok = clock.now();',
  ].join('\n');
  t.same(wallClockReads('planted.ts', planted), [
    'planted.ts:2: const started = Date.now();',
    'planted.ts:3: const when = new Date();',
    'planted.ts:4: const later = new Date( );',
  ]);
});

t.test('src/ reads time only through lib/clock.ts', async (t) => {
  const files = await sourceFiles(SRC);
  const checked = files
    .map((path) => ({ path, rel: relative(SRC, path).split(sep).join('/') }))
    .filter(({ rel }) => !EXEMPT.includes(rel) && !EXEMPT_FOLDERS.some((f) => rel.startsWith(f)));
  t.ok(checked.length > 50, `${checked.length} source files read`);
  t.ok(checked.some(({ rel }) => rel === 'guard/bans.ts'), 'the folders with caches and limiters are among them');
  const found: string[] = [];
  for (const { path, rel } of checked) found.push(...wallClockReads(rel, await readFile(path, 'utf8')));
  t.same(found, [], 'no Date.now() or new Date() outside lib/clock.ts');
});
