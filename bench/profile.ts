/**
 * Where a request's CPU goes, Gatehouse beside the bare engine: each server runs alone on CPU 0
 * (`--perf-basic-prof`, so JIT-compiled JavaScript has names), wrk drives it from CPU 1 (a warm-up,
 * then the measured run), and Linux `perf` samples the server's threads during the measured run. Each
 * sample of the event-loop thread is charged to the innermost JavaScript frame that belongs to a
 * package (`pkg:koa`) or to one of our modules (`gh:oidc/adapter.js`); Node.js's own modules are
 * looked through, and a sample with no such frame (the kernel, V8's garbage collector, native
 * addons, interpreted code that has no name yet) is `native:…` by kind. A sample is 1/999 s of the
 * thread's CPU, so the columns are milliseconds of event-loop CPU per request for each server, and
 * their difference is what Gatehouse adds, by place. Beside it, each server's CPU per request by
 * kind of thread, from /proc.
 *
 *   apt-get install linux-perf wrk
 *   npm run bench:profile -- [client_credentials|refresh] [seconds=10]
 *
 * SQLite by default; PROFILE_PG_URL=postgresql://…/postgres profiles Gatehouse on a fresh
 * PostgreSQL database `gatehouse_profile` (made again at each run, left for a look afterwards).
 * `LOG_LEVEL=info`, one worker, four connections. Prints the tables; writes only temporary files.
 * Sampling (and running without inlining) slows the servers: the req/s it prints are not the
 * bench's (npm run bench); the split between places is what to read.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIME_ENV, RUNTIME_OPTIONS } from '../src/config/runtime.ts';
import { AUDIENCE, SCOPE, bareProviderArgs, createFixture, freshPostgresDatabase, refreshTokens, root } from './fixture.ts';
import { cpuMs, freePort, waitReady } from './processes.ts';

type Scenario = 'client_credentials' | 'refresh';
const scenario = (process.argv[2] ?? 'client_credentials') as Scenario;
if (scenario !== 'client_credentials' && scenario !== 'refresh') {
  console.error(`bench:profile: unknown scenario ${scenario} (client_credentials or refresh)`);
  process.exit(2);
}
const SECONDS = Number(process.argv[3] ?? 10);
if (!Number.isInteger(SECONDS) || SECONDS < 1) {
  console.error(`bench:profile: seconds must be a whole number of at least 1, not ${process.argv[3]}`);
  process.exit(2);
}
const WARM_SECONDS = 5;
const TICK_MS = 10; // USER_HZ = 100 on Linux
/**
 * Names for JIT-compiled code (a map file perf reads), and no inlining: an optimised function would
 * otherwise carry the code of every function inlined into it, and its samples would all be charged
 * to its own place. Both servers run with them, so each runs a little slower than it would.
 */
const PROFILE_NODE_ARGS = ['--perf-basic-prof', '--no-turbo-inlining', '--no-maglev-inlining'];
for (const tool of ['perf', 'wrk', 'taskset']) {
  if (spawnSync('which', [tool]).status !== 0) {
    console.error(`bench:profile: ${tool} is not installed (apt-get install linux-perf wrk util-linux)`);
    process.exit(2);
  }
}

const pgUrl = process.env.PROFILE_PG_URL;
const f = await createFixture(pgUrl ? await freshPostgresDatabase(pgUrl, 'gatehouse_profile') : undefined);
const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-profile-'));

/** Starts one server pinned to CPU 0 and waits until it answers. */
async function startGatehouse(port: number, pin: boolean): Promise<ChildProcess> {
  const child = spawn(
    pin ? 'taskset' : process.execPath,
    [...(pin ? ['-c', '0', process.execPath] : []), ...RUNTIME_OPTIONS, ...(pin ? PROFILE_NODE_ARGS : []), join(root, 'dist', 'main.js')],
    { cwd: root, env: { ...f.env, PORT: String(port), WORKERS: '1', ISSUER: `http://localhost:${port}` }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitReady(`http://localhost:${port}/readyz`);
  return child;
}

/** The bare engine with Gatehouse's keys (written by a first, brief start), clients and API. */
async function startBare(port: number): Promise<ChildProcess> {
  const first = await startGatehouse(await freePort(), false);
  first.kill('SIGINT');
  await new Promise((r) => first.once('exit', r));
  const args = [...RUNTIME_OPTIONS, ...PROFILE_NODE_ARGS, ...(await bareProviderArgs(f, port))];
  const child = spawn('taskset', ['-c', '0', process.execPath, ...args], {
    cwd: root,
    env: { ...RUNTIME_ENV, ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitReady(`http://localhost:${port}/jwks`);
  return child;
}

/** One wrk run from CPU 1; refresh chains start from fresh tokens each time. */
async function load(kind: 'bare' | 'gatehouse', url: string, seconds: number): Promise<number> {
  const base = ['-c', '1', 'wrk', '-t4', '-c4', `-d${seconds}s`];
  let args: string[];
  let env: NodeJS.ProcessEnv;
  if (scenario === 'client_credentials') {
    args = [...base, '-s', join(root, 'bench', 'wrk', 'post.lua'), `${url}/token`];
    env = { BENCH_BODY: `grant_type=client_credentials&resource=${encodeURIComponent(AUDIENCE)}&scope=${encodeURIComponent(SCOPE)}`, BENCH_AUTH: f.service.auth };
  } else {
    const tokens = kind === 'bare' ? ((await (await fetch(`${url}/bench/refresh-tokens?n=4`)).json()) as string[]) : await refreshTokens(url, f.webApp, 4);
    await writeFile(join(scratch, 'tokens.txt'), tokens.join('\n') + '\n');
    args = [...base, '-s', join(root, 'bench', 'wrk', 'refresh.lua'), `${url}/token`];
    env = { BENCH_TOKENS: join(scratch, 'tokens.txt'), BENCH_AUTH: f.webApp.auth };
  }
  const child = spawn('taskset', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps || /Non-2xx/.test(out)) throw new Error(`wrk against ${kind}: ${out}`);
  return Number(rps[1]);
}

/** CPU milliseconds so far by kind of thread: the event loop, V8's helpers (garbage collection,
 * compilation: named `node`), libuv's pool (WebCrypto signing, file work) and any other by its name. */
async function cpuByThread(pid: number): Promise<Map<string, number>> {
  const byKind = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const kind = Number(tid) === pid ? 'event loop' : name === 'node' ? 'V8 helper threads' : name === 'libuv-worker' ? 'libuv thread pool' : name;
    byKind.set(kind, (byKind.get(kind) ?? 0) + (Number(fields[11]) + Number(fields[12])) * TICK_MS);
  }
  return byKind;
}

const JS_FRAME = /JS:\S*\s+(file:\/\/\S+|node:\S+|\/\S+)/;

/** The place a frame's code belongs to, or undefined for Node.js's own modules. */
function place(frame: string): string | undefined {
  const m = JS_FRAME.exec(frame);
  if (!m) return undefined;
  const file = m[1]!;
  if (file.startsWith('node:')) return undefined;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(file);
  if (pkg) return `pkg:${pkg[1]}`;
  const ours = /\/dist\/(.+?\.js)/.exec(file);
  if (ours) return `gh:${ours[1]}`;
  return 'bench';
}

/** A sample with no named JavaScript frame of a package or of ours: what kind of work it was. */
function nativePlace(frames: string[]): string {
  if (frames.some((f) => /libsql|better-sqlite|sqlite3/.test(f))) return 'native:sqlite';
  if (frames.some((f) => /Scavenge|MarkCompact|MinorMC|Heap::|GCTracer|Sweeper/.test(f))) return 'native:garbage collection';
  if (frames.some((f) => /InterpreterEntryTrampoline|BaselineOutOfLinePrologue/.test(f))) return 'native:JavaScript not yet compiled';
  if (frames[0]?.includes('[kernel.kallsyms]')) return 'native:kernel';
  return 'native:other';
}

/** Event-loop samples by place, and their total. */
function attribute(script: string, tid: number): { counts: Map<string, number>; total: number } {
  const counts = new Map<string, number>();
  let total = 0;
  for (const sample of script.split('\n\n')) {
    const lines = sample.split('\n').filter(Boolean);
    if (lines.length < 2 || !new RegExp(`^\\S+\\s+${tid}\\s`).test(lines[0]!.trim())) continue;
    total += 1;
    let at: string | undefined;
    for (const frame of lines.slice(1)) {
      at = place(frame);
      if (at) break;
    }
    at ??= nativePlace(lines.slice(1));
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  return { counts, total };
}

interface Profile {
  rps: number;
  /** The server's CPU per request, every thread (from /proc). */
  msPerRequest: number;
  /** The event loop's CPU per request (its samples; one sample is 1/999 s of CPU). */
  loopMsPerRequest: number;
  /** Event-loop milliseconds per request, by place. */
  byPlace: Map<string, number>;
  /** CPU milliseconds per request by kind of thread (from /proc). */
  byThread: Map<string, number>;
}

async function profile(kind: 'bare' | 'gatehouse'): Promise<Profile> {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const server = kind === 'bare' ? await startBare(port) : await startGatehouse(port, true);
  try {
    await load(kind, url, WARM_SECONDS);
    const data = join(scratch, `${kind}.data`);
    const cpu0 = await cpuMs(server.pid!);
    const threads0 = await cpuByThread(server.pid!);
    const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '999', '-g', '-p', String(server.pid), '-o', data, '--', 'sleep', String(SECONDS)], { stdio: 'ignore' });
    const rps = await load(kind, url, SECONDS);
    const cpu1 = await cpuMs(server.pid!);
    const threads1 = await cpuByThread(server.pid!);
    await new Promise((r) => perf.once('exit', r));
    const script = spawnSync('perf', ['script', '-i', data], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
    const requests = rps * SECONDS;
    const { counts, total } = attribute(script, server.pid!);
    const sampleMs = 1000 / 999;
    const byPlace = new Map([...counts].map(([p, n]) => [p, (n * sampleMs) / requests]));
    const byThread = new Map([...threads1].map(([k, v]) => [k, (v - (threads0.get(k) ?? 0)) / requests]));
    return { rps, msPerRequest: (cpu1 - cpu0) / requests, loopMsPerRequest: (total * sampleMs) / requests, byPlace, byThread };
  } finally {
    server.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    // --perf-basic-prof's map of the JIT code, always in /tmp (taskset execs the server in its own
    // process: the same pid).
    await rm(`/tmp/perf-${server.pid}.map`, { force: true });
  }
}

try {
  const bare = await profile('bare');
  const gatehouse = await profile('gatehouse');
  const places = new Set([...bare.byPlace.keys(), ...gatehouse.byPlace.keys()]);
  const rows = [...places]
    .map((p) => ({ p, bare: bare.byPlace.get(p) ?? 0, gatehouse: gatehouse.byPlace.get(p) ?? 0 }))
    .sort((a, b) => b.gatehouse - b.bare - (a.gatehouse - a.bare));
  console.log(`${scenario} on ${pgUrl ? 'PostgreSQL' : 'SQLite'}, ${SECONDS} s sampled after ${WARM_SECONDS} s of warm-up`);
  for (const [name, p] of [['bare engine', bare], ['Gatehouse', gatehouse]] as const) {
    console.log(`${`${name}:`.padEnd(13)}${p.rps.toFixed(0)} req/s while sampled; CPU per request ${p.msPerRequest.toFixed(3)} ms, of it the event loop ${p.loopMsPerRequest.toFixed(3)} ms`);
  }
  console.log('CPU per request, ms, by thread (from /proc)');
  for (const kind of new Set([...bare.byThread.keys(), ...gatehouse.byThread.keys()])) {
    const b = bare.byThread.get(kind) ?? 0;
    const g = gatehouse.byThread.get(kind) ?? 0;
    if (Math.max(b, g) < 0.001) continue;
    console.log(`${kind.padEnd(44)} ${b.toFixed(3).padStart(7)} ${g.toFixed(3).padStart(9)} ${(g - b).toFixed(3).padStart(7)}`);
  }
  console.log('event-loop CPU per request, ms, by place (perf samples; sorted by what Gatehouse adds)');
  console.log(`${'place'.padEnd(44)} ${'bare'.padStart(7)} ${'gatehouse'.padStart(9)} ${'added'.padStart(7)}`);
  for (const r of rows.filter((r) => Math.max(r.bare, r.gatehouse) >= 0.001)) {
    console.log(`${r.p.padEnd(44)} ${r.bare.toFixed(3).padStart(7)} ${r.gatehouse.toFixed(3).padStart(9)} ${(r.gatehouse - r.bare).toFixed(3).padStart(7)}`);
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
  await rm(f.dir, { recursive: true, force: true });
}
process.exit(0);
