import { readFile } from 'node:fs/promises';

// The global WebAssembly object (the TypeScript libs this project builds with do not describe it).
declare const WebAssembly: { Module: new (bytes: Uint8Array) => object };

/**
 * The Prisma query compiler's WebAssembly module, compiled from the base64 text Prisma ships in
 * `@prisma/client/runtime/query_compiler_*.wasm-base64.mjs`, read as a file rather than imported.
 *
 * Prisma's generated client `import()`s that module; an ES module is never unloaded, so its 4.2 MB
 * source and the 4.2 MB string it exports stayed on the heap for the life of the process (8.4 MB of
 * the idle heap). Read as a file, both are garbage once the module is compiled.
 * `npm run generate` points the generated clients here (prisma/tools/patch-generated.mjs).
 */
export async function loadQueryCompilerWasm(specifier: string): Promise<object> {
  const url = new URL(import.meta.resolve(specifier));
  const source = await readFile(url, 'utf8');
  const start = source.indexOf('"');
  const end = source.indexOf('"', start + 1);
  const base64 = start >= 0 && end > start ? source.slice(start + 1, end) : '';
  // Checked by what it decodes to rather than by a pattern over its 4.2 MB of text (20 ms a start):
  // a WebAssembly module starts with "\0asm", and compiling it validates the rest.
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x0061736d) {
    throw new Error(`${specifier} does not hold one base64 string literal of a WebAssembly module: the Prisma version changed; see prisma/tools/patch-generated.mjs`);
  }
  return new WebAssembly.Module(bytes);
}
