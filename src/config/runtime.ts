import module from 'node:module';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { packageRoot } from '../lib/package-root.js';

/**
 * The Node.js releases Gatehouse runs on. oidc-provider supports only Node.js 22 LTS and later (on
 * older ones it prints a plain-text warning into the JSON log), and so do some of its dependencies.
 * Keep in step with `engines` in package.json.
 */
export const MINIMUM_NODE = '22.12.0';

/** Why this Node.js release cannot run Gatehouse, or undefined when it can. */
export function unsupportedRuntime(version: string): string | undefined {
  const have = parse(version);
  const need = parse(MINIMUM_NODE)!;
  if (have && compare(have, need) >= 0) return undefined;
  return (
    `Node.js ${MINIMUM_NODE.replace(/\.0$/, '')} or newer is required, this is ${version}. ` +
    'On Linux x64 `npm ci` installs Node.js 22 into node_modules/.bin, which `npm start` and `npx gatehouse` use; ' +
    'elsewhere install Node.js 22 LTS'
  );
}

/** Stops the process with a one-line message when this Node.js is too old (before anything is opened). */
export function exitOnUnsupportedRuntime(): void {
  const problem = unsupportedRuntime(process.versions.node);
  if (problem === undefined) return;
  process.stderr.write(`gatehouse: ${problem}\n`);
  process.exit(1);
}

function parse(version: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * Node.js and V8 options every Gatehouse server process runs with: `npm start`, the Docker image's
 * command and the WORKERS processes the primary forks all pass them (test/unit/config/runtime.test.ts
 * keeps them in step). docs/architecture.md ("Memory" and "Per-request CPU") has the measurements.
 *
 * - `--max-semi-space-size=4`: a 4 MB young-generation semi-space instead of V8's default (up to
 *   16 MB on 64-bit). A request's garbage is short-lived; the smaller space measured no CPU difference
 *   per token beyond the noise, and about 10 MB less resident memory idle, 30 MB after load.
 * - `--experimental-async-context-frame`: AsyncLocalStorage (oidc-provider keeps each request's
 *   context in one, and so do our held writes and ambient transactions) carried by V8's continuation
 *   data instead of a hook on every promise created. About a tenth less CPU per token and per refresh.
 *   It is the default from Node.js 24 on; Gatehouse ships and tests Node.js 22, where it is a flag.
 */
export const RUNTIME_OPTIONS: readonly string[] = ['--max-semi-space-size=4', '--experimental-async-context-frame'];

/**
 * The environment every Gatehouse server process starts with, unless the operator set the variable
 * (`npm start`, the Docker image, and the WORKERS processes the primary forks).
 *
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates its own malloc arena (up to eight
 *   per CPU), and an arena keeps the memory its thread freed. A server's threads (V8's compiler and
 *   collector helpers, libuv's pool signing tokens, the hashing threads) held 13–22 MB of arenas
 *   after a start, differently every start. Two arenas (two interleaved runs of 3 starts each):
 *   resident memory 130–134 MB idle against 137–145, 151–192 MB after 4,000 token requests against
 *   200–206, CPU per client-credentials request and per refresh the same within the noise
 *   (docs/architecture.md, "Memory"). glibc reads it when the process starts, so it cannot be set
 *   from inside; other C libraries ignore it.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The variables of RUNTIME_ENV that `env` does not set (an operator's own value wins, even empty). */
export function missingRuntimeEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(RUNTIME_ENV).filter(([name]) => env[name] === undefined));
}

/**
 * The command-line options for a forked worker: this process's own, plus RUNTIME_OPTIONS that the
 * operator did not set themselves (on the command line or in NODE_OPTIONS, either spelling, or
 * negated with `--no-`: theirs win) and that this Node.js knows.
 */
export function withRuntimeOptions(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  known: ReadonlySet<string> = process.allowedNodeEnvironmentFlags,
): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  const name = (option: string) => option.split('=')[0]!.replace(/_/g, '-').replace(/^--no-/, '--');
  const missing = RUNTIME_OPTIONS.filter((option) => known.has(name(option)) && !given.some((g) => name(g) === name(option)));
  return [...execArgv, ...missing];
}

/**
 * Node.js's compile cache (`module.enableCompileCache`): V8 keeps the compiled code of every module
 * it loads in files, and the next start of the same code reads them instead of compiling again. A
 * start compiles ~1,300 modules (fastify, oidc-provider, Prisma, ...); see docs/architecture.md,
 * "Start", for what it saves. Entries are keyed by each file's content, so a rebuild or an upgrade
 * never runs stale code.
 *
 * The folder is `node_modules/.cache/gatehouse-compile` inside Gatehouse's own installation, written
 * only by whoever can already write the code itself (not a shared temporary folder another account
 * could fill). Where that folder cannot be written (the Docker image runs as `node` over files owned
 * by root) Node.js caches nothing and the start is only slower. `NODE_COMPILE_CACHE=<dir>` (Node.js
 * reads it itself) chooses another folder, `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 */
export function enableCompileCache(env: Readonly<Record<string, string | undefined>> = process.env): void {
  if (env.NODE_COMPILE_CACHE !== undefined) return;
  module.enableCompileCache?.(join(packageRoot(), 'node_modules', '.cache', 'gatehouse-compile'));
}

/** Writes what this process compiled so far to the compile cache (done once the server listens, so a start killed later still leaves it). */
export function flushCompileCache(): void {
  module.flushCompileCache?.();
}

/**
 * How far V8 lets the old generation grow past what survived its last full collection before it
 * collects again: 50 %. V8 chooses the factor itself, up to 4x on a small heap with a fast
 * collector, and a server under load promotes much short-lived garbage (objects alive across a
 * request's database round trips): measured under the bench, the heap of ~40 MB live objects grew
 * to 100-150 MB between full collections and resident memory with it. At 50 % it stays near 60 MB,
 * at no CPU cost per request beyond the noise (docs/architecture.md, "Memory").
 */
export const HEAP_GROWING_PERCENT = 50;

/** The V8 option that sets HEAP_GROWING_PERCENT, or undefined when the operator chose their own (on the command line). */
export function heapGrowthOption(execArgv: readonly string[]): string | undefined {
  const chosen = execArgv.some((option) => /^--(no-)?heap[-_]growing[-_]percent(=|$)/.test(option));
  return chosen ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * Applies HEAP_GROWING_PERCENT to this process, at run time rather than on the command line: V8
 * reads it at every full collection, Node.js does not accept it in NODE_OPTIONS, and this way every
 * start of the server gets it (`npm start`, the image, `node dist/main.js`, each WORKERS process).
 * Threads of the process (the hashing threads) share V8's options.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  const option = heapGrowthOption(execArgv);
  if (option) v8.setFlagsFromString(option);
}

/**
 * One full collection, once the start is done. A start leaves garbage V8 has no reason to collect
 * while the process idles: the source text of every module compiled, and the Prisma query
 * compiler's WebAssembly (shipped as a 4.2 MB base64 string; see docs/architecture.md, "Memory")
 * sit in the large-object space, ~9 MB, until the first full collection, which an idle server may
 * not reach for hours. Collecting once costs the start a few tens of milliseconds.
 *
 * V8 exposes the collection only through `--expose-gc`: the option is on just long enough to take
 * the function from a new context (so no `gc` global appears in this one), then off again, so the
 * hashing threads started later do not get one either.
 */
export function collectStartGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  try {
    (runInNewContext('gc') as () => void)();
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
