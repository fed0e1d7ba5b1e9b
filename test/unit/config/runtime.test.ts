import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { HEAP_GROWING_PERCENT, heapGrowthOption, MINIMUM_NODE, missingRuntimeEnv, unsupportedRuntime, RUNTIME_ENV, RUNTIME_OPTIONS, withRuntimeOptions } from '../../../src/config/runtime.ts';
import { packageRoot } from '../../../src/lib/package-root.ts';
import { gatehouseDeployment } from '../../helpers/gatehouse-process.ts';
import { CLI_JS, MAIN_JS } from '../../helpers/processes.ts';

t.test('the minimum is the one package.json states', async (t) => {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { engines: { node: string } };
  t.equal(pkg.engines.node, `>=${MINIMUM_NODE.replace(/\.0$/, '')}`);
});

t.test('Node.js 22.12 and later run; older releases are named and refused', async (t) => {
  for (const ok of ['22.12.0', '22.23.5', 'v22.12.0', '23.0.0', '24.11.1', '30.0.0']) t.equal(unsupportedRuntime(ok), undefined, ok);
  for (const old of ['20.19.0', '20.20.2', '22.11.9', '21.7.3', '18.20.4', 'v22.0.0', 'not-a-version']) {
    const problem = unsupportedRuntime(old);
    t.match(problem, /^Node\.js 22\.12 or newer is required, this is /, old);
    t.ok(problem?.includes(old), `${old} is named`);
  }
});

t.test('the tests themselves run on a supported Node.js (npm scripts use node_modules/.bin/node)', async (t) => {
  t.equal(unsupportedRuntime(process.versions.node), undefined, process.version);
});

// An older Node.js, as far as Gatehouse can tell: the preload replaces process.versions.node.
const PRETEND_NODE_20 = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.19.0"}});';

for (const [name, script, args] of [
  ['the server', MAIN_JS, []],
  ['the CLI', CLI_JS, ['clients', 'list']],
] as const) {
  t.test(`${name} on an older Node.js stops at once with one line and touches nothing`, async (t) => {
    const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-runtime-'));
    t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
    const r = spawnSync(process.execPath, ['--import', PRETEND_NODE_20, script, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    t.equal(r.status, 1, 'exit code 1');
    t.equal(r.stdout, '', 'nothing on stdout');
    const lines = r.stderr.split('\n').filter(Boolean);
    t.equal(lines.length, 1, `one line: ${r.stderr}`);
    t.match(lines[0], /^gatehouse: Node\.js 22\.12 or newer is required, this is 20\.19\.0\. /);
    t.notOk(existsSync(join(cwd, 'data')), 'no data folder');
    t.notOk(existsSync(join(cwd, 'keys')), 'no keys folder');
  });
}

t.test('npm start and the Docker image start the server with the runtime options and environment WORKERS processes get', async (t) => {
  t.same(RUNTIME_ENV, { MALLOC_ARENA_MAX: '2' }, 'the environment');
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { scripts: { start: string } };
  const defaults = Object.entries(RUNTIME_ENV).map(([name, value]) => `${name}=\${${name}:-${value}}`);
  t.equal(pkg.scripts.start, `${defaults.join(' ')} node ${RUNTIME_OPTIONS.join(' ')} dist/main.js`, 'npm start');
  const dockerfile = readFileSync(join(packageRoot(), 'Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  t.same(cmd && JSON.parse(cmd), ['node', ...RUNTIME_OPTIONS, 'dist/main.js'], 'the image\'s CMD');
  const envBlock = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile)?.[1] ?? '';
  for (const [name, value] of Object.entries(RUNTIME_ENV)) t.match(envBlock, new RegExp(`(^|\\s)${name}=${value}(\\s|$)`), `the image sets ${name}=${value}`);

  // The start script's own shell (npm runs scripts with sh): the default, or the operator's value.
  const echo = pkg.scripts.start.replace(/ node .*$/, ' node -p process.env.MALLOC_ARENA_MAX');
  const shell = (env: NodeJS.ProcessEnv) => spawnSync('sh', ['-c', echo], { encoding: 'utf8', env }).stdout.trim();
  const { MALLOC_ARENA_MAX: _, ...without } = process.env;
  t.equal(shell(without), '2', 'unset: 2');
  t.equal(shell({ ...without, MALLOC_ARENA_MAX: '8' }), '8', "the operator's value wins");
});

t.test('a forked worker gets the runtime environment the operator did not set', async (t) => {
  t.same(missingRuntimeEnv({}), { MALLOC_ARENA_MAX: '2' }, 'nothing set: ours');
  t.same(missingRuntimeEnv({ MALLOC_ARENA_MAX: '8' }), {}, "the operator's value wins");
  t.same(missingRuntimeEnv({ MALLOC_ARENA_MAX: '' }), {}, 'even an empty one');
});

t.test('a forked worker gets the runtime options unless the operator chose their own', async (t) => {
  const frame = '--experimental-async-context-frame';
  t.same(RUNTIME_OPTIONS, ['--max-semi-space-size=4', frame], 'the options');
  t.same(withRuntimeOptions([], undefined), [...RUNTIME_OPTIONS], 'nothing given: ours');
  t.same(withRuntimeOptions(['--enable-source-maps'], ''), ['--enable-source-maps', ...RUNTIME_OPTIONS], 'added after the process\'s own');
  t.same(withRuntimeOptions([...RUNTIME_OPTIONS], undefined), [...RUNTIME_OPTIONS], 'started by npm start: not twice');
  t.same(withRuntimeOptions(['--max-semi-space-size=16'], undefined), ['--max-semi-space-size=16', frame], 'the operator\'s value on the command line wins');
  t.same(withRuntimeOptions([], '--max-old-space-size=512 --max_semi_space_size=32'), [frame], 'the operator\'s value in NODE_OPTIONS wins (either spelling)');
  t.same(withRuntimeOptions(['--no-experimental-async-context-frame'], undefined), ['--no-experimental-async-context-frame', '--max-semi-space-size=4'], 'an option the operator negated stays off');
  t.same(withRuntimeOptions([], undefined, new Set(['--max-semi-space-size'])), ['--max-semi-space-size=4'], 'an option this Node.js does not know is left out');
});

t.test('with the runtime options, AsyncLocalStorage runs on async context frames', async (t) => {
  const run = (args: readonly string[], code: string) => spawnSync(process.execPath, [...args, '--expose-internals', '-e', code], { encoding: 'utf8' });
  const enabled = run(RUNTIME_OPTIONS, "process.stdout.write(String(require('internal/async_context_frame').enabled))");
  t.equal(enabled.stdout, 'true', `async context frames: ${enabled.stderr}`);
  const store = run(RUNTIME_OPTIONS, "const a = new (require('node:async_hooks').AsyncLocalStorage)(); a.run(7, async () => { await null; await new Promise((r) => setTimeout(r, 1)); process.stdout.write(String(a.getStore())); });");
  t.equal(store.stdout, '7', `a store survives awaits and timers: ${store.stderr}`);
});

t.test('the tests run AsyncLocalStorage as the server does', async (t) => {
  // package.json's tap config: in-process tests (the app built inside the test) would otherwise run
  // the engine's per-request storage on async hooks, which no server process uses.
  t.ok(process.execArgv.includes('--experimental-async-context-frame'), process.execArgv.join(' '));
});

// Prints, when the process exits, the compile cache folder Node.js used (none: "off"). Node.js keeps
// one subfolder per release and set of V8 flags in the folder it is given.
const REPORT_COMPILE_CACHE = 'data:text/javascript,import m from "node:module";process.on("exit",()=>process.stderr.write("compile-cache:"+(m.getCompileCacheDir()??"off")+"\\n"));';
const cacheDirOf = (stderr: string) => {
  const dir = /^compile-cache:(.*)$/m.exec(stderr)?.[1];
  return dir === undefined || dir === 'off' ? dir : dirname(dir);
};

t.test("the CLI and the server compile through the compile cache in the installation's own folder, or where the operator says", async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-cache-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', REPORT_COMPILE_CACHE, CLI_JS, 'clients', '--help'], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });

  const ours = run({});
  t.equal(ours.status, 0, ours.stderr);
  t.equal(cacheDirOf(ours.stderr), join(packageRoot(), 'node_modules', '.cache', 'gatehouse-compile'), 'by default: node_modules/.cache/gatehouse-compile of this installation');

  const chosen = join(cwd, 'cache');
  const theirs = run({ NODE_COMPILE_CACHE: chosen });
  t.equal(cacheDirOf(theirs.stderr), chosen, 'NODE_COMPILE_CACHE wins');
  t.ok(existsSync(chosen) && readdirSync(chosen).length > 0, 'and the compiled code is written there');

  t.equal(cacheDirOf(run({ NODE_DISABLE_COMPILE_CACHE: '1' }).stderr), 'off', 'NODE_DISABLE_COMPILE_CACHE=1 turns it off');
});

t.test('a server writes its compile cache once it listens, not only when it exits (a start killed later still leaves it)', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'gatehouse-cache-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  const gh = await gatehouseDeployment(t, 'sqlite');
  const server = await gh.start({ NODE_COMPILE_CACHE: cache });
  t.equal((await fetch(`${server.url}/readyz`)).status, 200);
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [e.name]));
  t.ok(files(cache).length >= 100, `${files(cache).length} compiled modules in the cache while the server runs`);
});

t.test("the heap's growth between full collections is bounded unless the operator chose their own", async (t) => {
  t.equal(HEAP_GROWING_PERCENT, 50);
  t.equal(heapGrowthOption([]), '--heap-growing-percent=50', 'nothing given: ours');
  t.equal(heapGrowthOption(['--max-semi-space-size=4', '--enable-source-maps']), '--heap-growing-percent=50', 'other options do not count');
  t.equal(heapGrowthOption(['--heap-growing-percent=200']), undefined, "the operator's value wins");
  t.equal(heapGrowthOption(['--heap_growing_percent=10']), undefined, 'in either spelling');
  t.equal(heapGrowthOption(['--heap-growing-percentage=10']), '--heap-growing-percent=50', 'not a prefix match');
});

// A live set of ~46 MB and garbage that lives long enough to be promoted (a ring of 200,000 objects,
// 20 MB, replaced one at a time), as a server under load promotes objects held across a request's
// database round trips. Prints the largest heap seen over the live heap after a full collection.
const CHURN = `
  import v8 from 'node:v8';
  if (process.argv[1] === 'limit') (await import(${JSON.stringify(join(packageRoot(), 'dist', 'config', 'runtime.js'))})).limitHeapGrowth();
  const live = Array.from({ length: 300_000 }, (_, i) => ({ i, s: 'x' + i }));
  const ring = new Array(200_000).fill(null);
  let max = 0;
  for (let n = 0; n < 10_000_000; n++) {
    ring[n % ring.length] = { n, a: [n, n + 1], s: 'y' };
    if (n % 20_000 === 0) max = Math.max(max, v8.getHeapStatistics().total_heap_size);
  }
  globalThis.gc();
  process.stdout.write(String(max / v8.getHeapStatistics().used_heap_size) + ' ' + (live.length + ring.length));
`;

t.test('with the bound, the heap stays within twice its live size where V8 alone lets it grow about fourfold', async (t) => {
  const run = (mode: string) => {
    const r = spawnSync(process.execPath, [...RUNTIME_OPTIONS, '--expose-gc', '--input-type=module', '-e', CHURN, mode], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    return Number(r.stdout.split(' ')[0]);
  };
  const bounded = run('limit');
  // Measured on the 2-core CI machine: 2.0 with the bound, 4.6 without (V8 picks its own factor, up to 4).
  t.ok(bounded > 1 && bounded < 2.8, `the largest heap is ${bounded.toFixed(2)} times the live one`);
  t.comment(`without the bound: ${run('default').toFixed(2)} times`);
});

// ~9 MB of garbage in V8's large-object space (as a start leaves: module sources, the query
// compiler's base64 text), then collectStartGarbage(); prints the space's use before and after, and
// whether this context or a thread started afterwards can see a `gc` function.
const START_GARBAGE = `
  import v8 from 'node:v8';
  import { Worker } from 'node:worker_threads';
  const { collectStartGarbage } = await import(${JSON.stringify(join(packageRoot(), 'dist', 'config', 'runtime.js'))});
  const large = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'large_object_space').space_used_size;
  let keep = [];
  for (let i = 0; i < 9; i++) keep.push(new Array(1 << 17).fill(i + 0.5)); // 1 MB of doubles each
  keep = null;
  const before = large();
  collectStartGarbage();
  const after = large();
  const worker = new Worker('process.getBuiltinModule("node:worker_threads").parentPort.postMessage(typeof gc)', { eval: true });
  const [inThread] = await Promise.all([new Promise((r) => worker.once('message', r)), new Promise((r) => worker.once('exit', r))]);
  process.stdout.write(JSON.stringify({ before, after, here: typeof gc, inThread }));
`;

t.test("the start's garbage is collected once, without leaving a gc function to anyone", async (t) => {
  const r = spawnSync(process.execPath, [...RUNTIME_OPTIONS, '--input-type=module', '-e', START_GARBAGE], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const { before, after, here, inThread } = JSON.parse(r.stdout) as { before: number; after: number; here: string; inThread: string };
  t.ok(before >= 9 * 2 ** 20, `${(before / 2 ** 20).toFixed(1)} MB in the large-object space before`);
  t.ok(before - after >= 8 * 2 ** 20, `${(after / 2 ** 20).toFixed(1)} MB after`);
  t.equal(here, 'undefined', 'no gc global in the process');
  t.equal(inThread, 'undefined', 'nor in a thread started afterwards');
});

t.test('a server collects its start garbage once, after it listens', async (t) => {
  const gh = await gatehouseDeployment(t, 'sqlite');
  // V8 names the reason of each collection it traces; a collection asked for through gc() is "testing".
  const server = await gh.start({}, [...RUNTIME_OPTIONS, '--trace-gc']);
  // Whether V8 collects the start's garbage by itself before the server idles depends on how the
  // start's allocations fall (measured: never in 8 starts from the bench's setup, always under the
  // test runner), so the space's use below is what is promised, the trace what makes it so.
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const used = Number(/^gatehouse_nodejs_heap_space_size_used_bytes\{space="large_object"\} (\d+)/m.exec(metrics)?.[1]);
  t.ok(used < 4 * 2 ** 20, `${(used / 2 ** 20).toFixed(1)} MB used in the large-object space`);
  // V8 writes its trace through C's buffered stdout: read it once the process has exited.
  t.equal(await server.stop(), 0);
  const asked = server.process.output().split('\n').filter((line) => /Mark-Compact.*\btesting\b/.test(line));
  t.equal(asked.length, 1, 'one full collection asked for by the server itself');
});
