// Run by `npm run generate` after `prisma generate`: the generated clients load the query compiler's
// WebAssembly through src/persistence/query-compiler-wasm.ts (read as a file, then garbage) instead of
// import()ing Prisma's base64 module (kept on the heap for the process's life). Fails loudly when the
// generated text no longer has the expected shape, e.g. after a Prisma upgrade.
import { readFileSync, writeFileSync } from 'node:fs';

const PATTERN =
  /const \{ wasm \} = await import\("(@prisma\/client\/runtime\/query_compiler_[a-z_]+\.[a-z]+\.wasm-base64\.mjs)"\)\n\s*return await decodeBase64AsWasm\(wasm\)/;
const IMPORT = "import { loadQueryCompilerWasm } from '../../../query-compiler-wasm.js'\n";

for (const kind of ['sqlite', 'postgres']) {
  const file = new URL(`../../src/persistence/generated/${kind}/internal/class.ts`, import.meta.url);
  const text = readFileSync(file, 'utf8');
  if (text.includes(IMPORT)) continue;
  const match = PATTERN.exec(text);
  if (!match) {
    console.error(`patch-generated: ${file.pathname} has no base64 wasm import of the expected shape (Prisma changed?)`);
    process.exit(1);
  }
  // After the header comments: `// @ts-nocheck` only counts at the top of the file.
  const header = text.indexOf('// @ts-nocheck');
  const at = header < 0 ? -1 : text.indexOf('\n', header) + 1;
  if (at <= 0) {
    console.error(`patch-generated: ${file.pathname} has no // @ts-nocheck header (Prisma changed?)`);
    process.exit(1);
  }
  const replaced = text.replace(PATTERN, `return await loadQueryCompilerWasm(${JSON.stringify(match[1])})`);
  const patched = replaced.slice(0, at) + IMPORT + replaced.slice(at);
  writeFileSync(file, patched);
}
