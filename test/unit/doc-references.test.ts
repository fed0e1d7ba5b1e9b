import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';

/**
 * Comments and docs point only at files the repository has: a reader who follows a reference must
 * find it. Every `something.md` named in the sources, tests, benches, examples, docs and README must
 * exist, as a path from the repository root or beside the file that names it.
 */
const ROOT = packageRoot();
const SCAN = ['src', 'test', 'bench', 'examples', 'packages', 'prisma', 'docs', 'deploy', 'README.md', '.ci/run', 'Dockerfile'];
const SKIP = new Set(['node_modules', 'generated', 'dist', 'results']);

async function files(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [path];
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    out.push(...(await files(join(path, entry.name))));
  }
  return out;
}

export function markdownReferences(text: string): string[] {
  return [...text.matchAll(/(?<![\w/.-])((?:\.{0,2}\/)?[\w][\w./-]*\.md)\b/g)].map((m) => m[1]!);
}

t.test('the reference finder sees what a reader would follow', async (t) => {
  t.same(markdownReferences('see DESIGN.md §2 and docs/security.md, or ../shared/STYLE.md.'), ['DESIGN.md', 'docs/security.md', '../shared/STYLE.md']);
  t.same(markdownReferences('no markdown here: file.mdx, readme'), []);
});

t.test('every referenced .md file exists in the repository', async (t) => {
  const all = (await Promise.all(SCAN.map((p) => files(join(ROOT, p))))).flat().filter((f) => /\.(ts|mts|js|md|sh|json)$|\/run$|Dockerfile$/.test(f));
  t.ok(all.length > 50, `scanned ${all.length} files`);
  const missing: string[] = [];
  for (const file of all) {
    if (file === join(ROOT, 'test', 'unit', 'doc-references.test.ts')) continue;
    const text = await readFile(file, 'utf8');
    for (const ref of new Set(markdownReferences(text))) {
      const candidates = [join(ROOT, ref), join(file, '..', ref)];
      const found = await Promise.all(candidates.map((c) => stat(c).then(() => c.startsWith(ROOT), () => false)));
      if (!found.some(Boolean)) missing.push(`${relative(ROOT, file)} → ${ref}`);
    }
  }
  t.same(missing, [], 'no reference to a file the repository does not have');
});
