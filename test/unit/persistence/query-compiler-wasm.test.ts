import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/lib/package-root.ts';
import { loadQueryCompilerWasm } from '../../../src/persistence/query-compiler-wasm.ts';

// The generated Prisma clients load the query compiler through src/persistence/query-compiler-wasm.ts
// (patched in by `npm run generate`), so Prisma's 4.2 MB base64 module is never imported and kept.

for (const kind of ['sqlite', 'postgres'] as const) {
  t.test(`the generated ${kind} client reads the compiler as a file instead of importing it`, async (t) => {
    const text = await readFile(join(packageRoot(), 'src', 'persistence', 'generated', kind, 'internal', 'class.ts'), 'utf8');
    t.match(text, /return await loadQueryCompilerWasm\("@prisma\/client\/runtime\/query_compiler_fast_bg\.[a-z]+\.wasm-base64\.mjs"\)/);
    t.notMatch(text, /await import\("[^"]*wasm-base64/, 'no import() of the base64 module is left');
    t.match(text.slice(0, text.indexOf('loadQueryCompilerWasm')), /\/\/ @ts-nocheck/, 'the import goes after the header that must come first');
  });
}

t.test('a Prisma compiler module compiles; a file of another shape is refused by name', async (t) => {
  const module = await loadQueryCompilerWasm('@prisma/client/runtime/query_compiler_fast_bg.sqlite.wasm-base64.mjs');
  const exports = (globalThis as unknown as { WebAssembly: { Module: { exports(m: object): { name: string }[] } } }).WebAssembly.Module.exports(module);
  t.ok(exports.length > 0, `a WebAssembly module with ${exports.length} exports`);
  await t.rejects(loadQueryCompilerWasm('@prisma/client/runtime/query_compiler_fast_bg.sqlite.mjs'), {
    message: /query_compiler_fast_bg\.sqlite\.mjs does not hold one base64 string literal of a WebAssembly module: the Prisma version changed/,
  });
});
