/**
 * `npm run bench`: Gatehouse (built dist/, production-like start) against its ceilings, with wrk.
 *
 * Contenders, each started fresh on loopback:
 * - Gatehouse on SQLite with WORKERS=1, and on PostgreSQL with WORKERS=1 (BENCH_PG_URL);
 * - Gatehouse on SQLite with WORKERS=2 (whole box; wrk shares its second core);
 * - the bare engine: oidc-provider with an unbounded in-memory adapter, the same keys, clients and API
 *   (bench/bare-provider.ts), under the Node.js options and environment Gatehouse runs with
 *   (RUNTIME_OPTIONS, RUNTIME_ENV), so a ratio measures what Gatehouse adds to the engine, not a
 *   runtime flag;
 * - argon2 alone: one argon2id verification per request with Gatehouse's parameters
 *   (bench/argon2-alone.ts), the ceiling for password checks;
 * - a peer an npm user might pick instead: OpenAuth 0.4 with its in-memory storage
 *   (bench/peers/openauth.mjs, installed under node_modules/.cache only), for JWKS, discovery, client
 *   credentials and refresh rotation.
 * Scenarios: JWKS, discovery, client credentials, refresh-token rotation (each connection follows
 * its own chain), authorization code exchange (with PKCE; each code used once: Gatehouse's from its
 * consent page for browsers signed in once, the bare engine's minted in-process), introspection, a password flood on the sign-in form (wrong passwords, each for an
 * address of its own), and a mixed run (the password flood with client-credentials and JWKS traffic
 * beside it once it is established, and a health probe: the latency each sees).
 *
 * Fairness: one-process servers are pinned to CPU BENCH_SERVER_CPU (0) and wrk (Debian's, a C load
 * generator) to BENCH_LOAD_CPU (1) with taskset; a warm-up run precedes each measured one; rounds
 * are interleaved (every contender once per scenario per round) so a machine that slows down slows
 * all alike; reported are the median over BENCH_ROUNDS (3) rounds and the min–max spread, and each
 * ratio is taken against the bare engine (or argon2 alone) in the same round. Results go to
 * bench/results/wrk-<time>.json and a Markdown table on stdout.
 *
 * Environment: BENCH_DURATION seconds per run (8), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16),
 * BENCH_CONTENDERS (comma list; default all), BENCH_SCENARIOS (comma list; default all),
 * BENCH_PG_URL (postgresql://postgres@127.0.0.1:5432/postgres; a database of its own is created),
 * BENCH_CODE_COUNT (codes minted for each measured code-exchange run: 1500; the run ends early, with
 * its rate over the time it ran, if they are used up).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { RUNTIME_ENV, RUNTIME_OPTIONS } from '../src/config/runtime.ts';
import { AUDIENCE, authorizationCode, authorizationCodes, bareProviderArgs, createFixture, freshPostgresDatabase, REDIRECT, refreshTokens, root, SCOPE, type Fixture } from './fixture.ts';
import { freePort, waitReady } from './processes.ts';
import { hiddenField, UserAgent } from '../test/helpers/user-agent.ts';
import { relyingParty, startAuthorization } from '../test/helpers/relying-party.ts';
import { postForm } from '../test/helpers/tokens.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0';
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '1';
const PG_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const only = (name: string) => (process.env[name] ? new Set(process.env[name]!.split(',').map((s) => s.trim())) : undefined);
const CONTENDERS = only('BENCH_CONTENDERS');
const SCENARIOS = only('BENCH_SCENARIOS');

type Scenario = 'jwks' | 'discovery' | 'client_credentials' | 'refresh' | 'authorization_code' | 'introspection' | 'password_flood' | 'mixed';
const ALL_SCENARIOS: Scenario[] = ['jwks', 'discovery', 'client_credentials', 'refresh', 'authorization_code', 'introspection', 'password_flood', 'mixed'];
const CODE_COUNT = Number(process.env.BENCH_CODE_COUNT ?? 1500);

interface WrkResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  statuses: Record<string, number>;
  socket_errors: number;
}

interface Contender {
  name: string;
  url: string;
  kind: 'gatehouse' | 'bare' | 'argon2' | 'openauth';
  /** CPUs the server may use (taskset list). */
  cpus: string;
  fixture?: Fixture;
  process: ChildProcess;
  pid: number;
}

for (const tool of ['wrk', 'taskset']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench: ${tool} is missing (apt-get install -y wrk util-linux)`);
    process.exit(2);
  }
}

const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const script = async (name: string): Promise<string> => {
  const file = join(root, 'bench', 'results', `.wrk-${name}.lua`);
  const text = (await readFile(join(root, 'bench', 'wrk', `${name}.lua`), 'utf8')) + '\n' + (await readFile(join(root, 'bench', 'wrk', 'report.lua'), 'utf8'));
  await writeFile(file, text);
  return file;
};

/** One wrk run pinned to the load CPU; its BENCH-RESULT line parsed. */
async function wrk(url: string, lua: string, env: Record<string, string>, seconds: number, connections: number): Promise<WrkResult> {
  const child = spawn('taskset', ['-c', LOAD_CPU, 'wrk', `-t${connections}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', lua, url], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await once(child, 'exit');
  const line = out.split('\n').find((l) => l.startsWith('BENCH-RESULT '));
  if (!line) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice('BENCH-RESULT '.length)) as { requests: number; duration_us: number; socket_errors: number; p50_us: number; p99_us: number; statuses: Record<string, number> };
  return { rps: r.requests / (r.duration_us / 1e6), p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000, statuses: r.statuses, socket_errors: r.socket_errors };
}

function startServer(args: string[], env: NodeJS.ProcessEnv, cpuList: string): ChildProcess {
  const child = spawn('taskset', ['-c', cpuList, process.execPath, ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

/** Resident memory of a process and of each of its children (a primary's workers), in MB. */
function rssParts(pid: number): number[] {
  const pids = [pid, ...(spawnSync('pgrep', ['-P', String(pid)]).stdout.toString().split('\n').filter(Boolean).map(Number))];
  return pids.map((p) => {
    const status = spawnSync('cat', [`/proc/${p}/status`]).stdout.toString();
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  });
}

/** Resident memory of a process and its children together, in MB. */
const rssMb = (pid: number): number => rssParts(pid).reduce((a, b) => a + b, 0);

/** The taskset process execs node, so its pid is the server's. */
async function gatehouse(name: string, fixture: Fixture, workers: number, cpuList: string): Promise<Contender> {
  const port = await freePort();
  const env = { ...fixture.env, PORT: String(port), ISSUER: `http://localhost:${port}`, WORKERS: String(workers) };
  const started = performance.now();
  // BENCH_NODE_ARGS: extra node flags for Gatehouse, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to
  // profile it under the bench's load (written when it stops).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // As `npm start` runs it: node <runtime options> dist/main.js.
  const child = startServer([...RUNTIME_OPTIONS, ...nodeArgs, join(root, 'dist', 'main.js')], env, cpuList);
  const url = `http://localhost:${port}`;
  await waitReady(`${url}/readyz`);
  const startMs = Math.round(performance.now() - started);
  console.error(`# ${name}: ready in ${startMs} ms (includes migration check and keyring load), RSS ${rssMb(child.pid!)} MB`);
  return { name, url, kind: 'gatehouse', cpus: cpuList, fixture, process: child, pid: child.pid! };
}

async function bare(fixture: Fixture): Promise<Contender> {
  const port = await freePort();
  const child = startServer([...RUNTIME_OPTIONS, ...(await bareProviderArgs(fixture, port))], { ...RUNTIME_ENV, ...process.env, NODE_ENV: 'production' }, SERVER_CPU);
  const url = `http://localhost:${port}`;
  await waitReady(`${url}/jwks`);
  return { name: 'bare oidc-provider', url, kind: 'bare', cpus: SERVER_CPU, fixture, process: child, pid: child.pid! };
}

/** OpenAuth's client credentials (the client in the form: it has no Basic authentication). */
const OPENAUTH_CLIENT = { id: 'bench-service', secret: randomUUID() };

async function openAuth(): Promise<Contender> {
  // Installed outside the source tree (bench/peers holds only what we wrote and its lockfile): tap's
  // coverage exclusions expand bench/** file by file, and a node_modules there would not fit them.
  const peers = join(root, 'node_modules', '.cache', 'gatehouse-bench-peers');
  await mkdir(peers, { recursive: true });
  for (const file of ['package.json', 'package-lock.json', 'openauth.mjs']) await copyFile(join(root, 'bench', 'peers', file), join(peers, file));
  if (spawnSync('test', ['-d', join(peers, 'node_modules', '@openauthjs')]).status !== 0) {
    const install = spawnSync('npm', ['ci', '--prefix', peers, '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (install.status !== 0) throw new Error(`npm ci --prefix ${peers} failed`);
  }
  const port = await freePort();
  const child = startServer([join(peers, 'openauth.mjs'), String(port), OPENAUTH_CLIENT.id, OPENAUTH_CLIENT.secret], { ...process.env, NODE_ENV: 'production' }, SERVER_CPU);
  const url = `http://localhost:${port}`;
  await waitReady(`${url}/.well-known/jwks.json`);
  return { name: 'OpenAuth 0.4 (memory)', url, kind: 'openauth', cpus: SERVER_CPU, process: child, pid: child.pid! };
}

/** The flows OpenAuth shares with Gatehouse, at its own paths. */
async function openAuthScenario(c: Contender, scenario: Scenario): Promise<Record<string, WrkResult> | undefined> {
  const warm = Math.max(1, Math.round(DURATION / 4));
  const twice = async (url: string, lua: string, env: Record<string, string>) => {
    await wrk(url, lua, env, warm, CONNECTIONS);
    return wrk(url, lua, env, DURATION, CONNECTIONS);
  };
  switch (scenario) {
    case 'jwks':
      return { main: await twice(`${c.url}/.well-known/jwks.json`, await script('get'), {}) };
    case 'discovery':
      return { main: await twice(`${c.url}/.well-known/oauth-authorization-server`, await script('get'), {}) };
    case 'client_credentials': {
      const body = `grant_type=client_credentials&provider=instant&client_id=${OPENAUTH_CLIENT.id}&client_secret=${OPENAUTH_CLIENT.secret}`;
      return { main: await twice(`${c.url}/token`, await script('post'), { BENCH_BODY: body }) };
    }
    case 'refresh': {
      const file = join(root, 'bench', 'results', `.openauth-refresh-${process.pid}.txt`);
      const mint = async () => writeFile(file, ((await (await fetch(`${c.url}/bench/refresh-tokens?n=${CONNECTIONS}`)).json()) as string[]).join('\n') + '\n');
      const lua = await script('refresh');
      try {
        await mint();
        await wrk(`${c.url}/token`, lua, { BENCH_TOKENS: file, BENCH_AUTH: '' }, warm, CONNECTIONS);
        await mint();
        return { main: await wrk(`${c.url}/token`, lua, { BENCH_TOKENS: file, BENCH_AUTH: '' }, DURATION, CONNECTIONS) };
      } finally {
        await rm(file, { force: true });
      }
    }
    default:
      return undefined;
  }
}

async function argon2(): Promise<Contender> {
  const port = await freePort();
  const child = startServer(['--import', 'tsx', join(root, 'bench', 'argon2-alone.ts'), String(port)], process.env, SERVER_CPU);
  const url = `http://localhost:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(url, { method: 'POST', body: 'x' }).then(() => true, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: 'argon2id alone', url, kind: 'argon2', cpus: SERVER_CPU, process: child, pid: child.pid! };
}

/** A sign-in form ready to be posted: its URL, cookies and form token. */
async function signInForm(c: Contender): Promise<{ url: string; cookie: string; csrf: string }> {
  const config = await relyingParty({ issuer: c.url }, c.fixture!.webApp);
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email' });
  const ua = new UserAgent();
  const page = await ua.follow(start.url.href, REDIRECT);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(page.url)?.[1];
  if (!uid) throw new Error(`no sign-in page at ${page.url}`);
  return { url: `${c.url}/interaction/${uid}/login`, cookie: ua.cookieHeader(), csrf: hiddenField(page.body, 'csrf') };
}

async function accessToken(c: Contender): Promise<string> {
  const f = c.fixture!;
  const r = await postForm(`${c.url}/token`, { grant_type: 'client_credentials', scope: SCOPE, resource: AUDIENCE }, f.service.auth);
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
  return String(r.json.access_token);
}

const ccBody = `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}&resource=${encodeURIComponent(AUDIENCE)}`;

/** Runs one scenario against one contender: a short warm-up, then the measured run. */
async function measure(c: Contender, scenario: Scenario, reference: Fixture): Promise<Record<string, WrkResult> | undefined> {
  const f = c.fixture ?? reference;
  const warm = Math.max(1, Math.round(DURATION / 4));
  const twice = async (url: string, lua: string, env: Record<string, string>, connections = CONNECTIONS) => {
    await wrk(url, lua, env, warm, connections);
    return wrk(url, lua, env, DURATION, connections);
  };
  if (c.kind === 'openauth') return openAuthScenario(c, scenario);
  if (c.kind === 'argon2') {
    if (scenario !== 'password_flood') return undefined;
    return { main: await twice(c.url, await script('post'), { BENCH_BODY: 'password=x' }) };
  }
  switch (scenario) {
    case 'jwks':
      return { main: await twice(`${c.url}/jwks`, await script('get'), {}) };
    case 'discovery':
      return { main: await twice(`${c.url}/.well-known/openid-configuration`, await script('get'), {}) };
    case 'client_credentials':
      return { main: await twice(`${c.url}/token`, await script('post'), { BENCH_BODY: ccBody, BENCH_AUTH: f.service.auth }) };
    case 'introspection': {
      // The bare engine does not introspect JWT access tokens (it stores none): no ceiling here.
      if (c.kind !== 'gatehouse') return undefined;
      const token = await accessToken(c);
      return { main: await twice(`${c.url}/token/introspection`, await script('post'), { BENCH_BODY: `token=${token}`, BENCH_AUTH: f.service.auth }) };
    }
    case 'refresh': {
      // Each run consumes its chains: fresh tokens for the warm-up and for the measured run.
      const mint = async () =>
        c.kind === 'bare' ? ((await (await fetch(`${c.url}/bench/refresh-tokens?n=${CONNECTIONS}`)).json()) as string[]) : await refreshTokens(c.url, f.webApp, CONNECTIONS);
      const file = join(f.dir, 'refresh-tokens.txt');
      await writeFile(file, (await mint()).join('\n') + '\n');
      const lua = await script('refresh');
      await wrk(`${c.url}/token`, lua, { BENCH_TOKENS: file, BENCH_AUTH: f.webApp.auth }, warm, CONNECTIONS);
      await writeFile(file, (await mint()).join('\n') + '\n');
      return { main: await wrk(`${c.url}/token`, lua, { BENCH_TOKENS: file, BENCH_AUTH: f.webApp.auth }, DURATION, CONNECTIONS) };
    }
    case 'authorization_code': {
      // Each code is used once and lives 60 s: fresh ones for the warm-up and for the measured run.
      const mint = async (n: number) =>
        c.kind === 'bare' ? ((await (await fetch(`${c.url}/bench/codes?n=${n}`)).json()) as string[]) : await authorizationCodes(c.url, f.webApp, n);
      const file = join(f.dir, 'codes.txt');
      const lua = await script('code');
      const env = { BENCH_CODES: file, BENCH_AUTH: f.webApp.auth, BENCH_REDIRECT: REDIRECT, BENCH_CONNECTIONS: String(CONNECTIONS) };
      await writeFile(file, (await mint(CONNECTIONS * 10)).join('\n') + '\n');
      await wrk(`${c.url}/token`, lua, env, warm, CONNECTIONS);
      await writeFile(file, (await mint(CODE_COUNT)).join('\n') + '\n');
      return { main: await wrk(`${c.url}/token`, lua, env, DURATION, CONNECTIONS) };
    }
    case 'password_flood': {
      if (c.kind !== 'gatehouse') return undefined;
      const form = await signInForm(c);
      return { main: await twice(form.url, await script('login'), { BENCH_COOKIE: form.cookie, BENCH_CSRF: form.csrf }, 32) };
    }
    case 'mixed': {
      if (c.kind !== 'gatehouse') return undefined;
      const form = await signInForm(c);
      const [login, post, get] = [await script('login'), await script('post'), await script('get')];
      // The flood starts first and runs throughout: token and JWKS latencies are measured while it
      // is established (its queue full, refusals flowing), after the warm-up, not in its first burst.
      const flood = wrk(form.url, login, { BENCH_COOKIE: form.cookie, BENCH_CSRF: form.csrf }, warm + DURATION + 1, 128);
      await new Promise((resolve) => setTimeout(resolve, warm * 1000));
      const [tokens, jwks, health] = await Promise.all([
        wrk(`${c.url}/token`, post, { BENCH_BODY: ccBody, BENCH_AUTH: f.service.auth }, DURATION, 4),
        wrk(`${c.url}/jwks`, get, {}, DURATION, 2),
        wrk(`${c.url}/healthz`, get, {}, DURATION, 1),
      ]);
      return { logins: await flood, client_credentials: tokens, jwks, healthz: health };
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---- set up
const wanted = (name: string) => !CONTENDERS || CONTENDERS.has(name);
const scenarios = ALL_SCENARIOS.filter((s) => !SCENARIOS || SCENARIOS.has(s));
const contenders: Contender[] = [];
const sqlite = await createFixture();
if (wanted('sqlite')) contenders.push(await gatehouse('Gatehouse SQLite', sqlite, 1, SERVER_CPU));
if (wanted('postgres')) {
  contenders.push(await gatehouse('Gatehouse PostgreSQL', await createFixture(await freshPostgresDatabase(PG_URL, 'gatehouse_bench')), 1, SERVER_CPU));
}
if (wanted('sqlite-workers')) contenders.push(await gatehouse(`Gatehouse SQLite, WORKERS=${cpus().length}`, await createFixture(), cpus().length, `0-${cpus().length - 1}`));
// The bare engine signs with the keys of a Gatehouse started above (made at its first start).
if (wanted('bare')) contenders.push(await bare(contenders.find((c) => c.kind === 'gatehouse')?.fixture ?? sqlite));
if (wanted('argon2')) contenders.push(await argon2());
if (wanted('openauth')) contenders.push(await openAuth());
// One sign-in per Gatehouse so the refresh and password scenarios meet a warm page path.
for (const c of contenders) if (c.kind === 'gatehouse') await authorizationCode(c.url, c.fixture!.webApp, new UserAgent()).catch((e) => console.error(`# ${c.name}: warm-up sign-in failed: ${e.message}`));

// ---- measure: every round runs every scenario on every contender, in turn
type Row = { round: number; contender: string; scenario: string; part: string } & WrkResult;
const rows: Row[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const scenario of scenarios) {
    for (const c of contenders) {
      const result = await measure(c, scenario, sqlite);
      if (!result) continue;
      for (const [part, r] of Object.entries(result)) {
        rows.push({ round, contender: c.name, scenario, part, ...r });
        console.error(`# round ${round} ${scenario}/${part} ${c.name}: ${r.rps.toFixed(0)} req/s p50 ${r.p50_ms.toFixed(1)} ms p99 ${r.p99_ms.toFixed(1)} ms ${JSON.stringify(r.statuses)}`);
      }
    }
  }
}
const memoryParts = Object.fromEntries(contenders.map((c) => [c.name, rssParts(c.pid)]));
const memory = Object.fromEntries(Object.entries(memoryParts).map(([name, parts]) => [name, parts.reduce((a, b) => a + b, 0)]));

// ---- report
const expected = (scenario: string, part: string) => (scenario === 'password_flood' || part === 'logins' ? /^401$/ : /^200$/);
const ceilingFor = (scenario: string) => (scenario === 'password_flood' || scenario === 'mixed' ? 'argon2id alone' : 'bare oidc-provider');
const summary = [];
for (const scenario of scenarios) {
  const parts = [...new Set(rows.filter((r) => r.scenario === scenario).map((r) => r.part))];
  for (const part of parts) {
    for (const c of contenders) {
      const mine = rows.filter((r) => r.scenario === scenario && r.part === part && r.contender === c.name);
      if (mine.length === 0) continue;
      const ratios = mine
        .map((r) => {
          const ceiling = rows.find((x) => x.scenario === scenario && x.part === part && x.round === r.round && x.contender === ceilingFor(scenario));
          return ceiling && ceiling.contender !== c.name ? r.rps / ceiling.rps : undefined;
        })
        .filter((x): x is number => x !== undefined);
      summary.push({
        scenario,
        part,
        contender: c.name,
        rps_median: Math.round(median(mine.map((r) => r.rps))),
        rps_min: Math.round(Math.min(...mine.map((r) => r.rps))),
        rps_max: Math.round(Math.max(...mine.map((r) => r.rps))),
        p50_ms: Number(median(mine.map((r) => r.p50_ms)).toFixed(1)),
        p99_ms: Number(median(mine.map((r) => r.p99_ms)).toFixed(1)),
        ratio_to_ceiling: ratios.length ? Number(median(ratios).toFixed(2)) : null,
        // A wrong password's 401 is the expected answer of the password flood; anything else counts.
        unexpected: mine.reduce((n, r) => n + Object.entries(r.statuses).filter(([s]) => !expected(scenario, part).test(s)).reduce((a, [, v]) => a + v, 0) + r.socket_errors, 0),
        statuses: mine.map((r) => r.statuses),
      });
    }
  }
}
const at = new Date().toISOString();
const cpuModel = cpus()[0]?.model ?? 'unknown';
const out = {
  at,
  machine: { cpus: cpus().length, model: cpuModel, memory_gb: Math.round(totalmem() / 2 ** 30) },
  node: process.version,
  duration_s: DURATION,
  rounds: ROUNDS,
  connections: CONNECTIONS,
  server_cpu: SERVER_CPU,
  load_cpu: LOAD_CPU,
  rss_after_mb: memory,
  /** Per process: the server, then its children (a primary's workers). */
  rss_after_mb_per_process: memoryParts,
  summary,
  rows,
};
const file = join(root, 'bench', 'results', `wrk-${at.replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify(out, null, 2) + '\n');
console.log(`\n${at}, ${cpus().length} × ${cpuModel}, Node ${process.version}; wrk on CPU ${LOAD_CPU}, one-process servers on CPU ${SERVER_CPU}; ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} connections; median [min–max]\n`);
console.log('| scenario | contender | req/s | p50 ms | p99 ms | ratio to ceiling | unexpected answers |');
console.log('|---|---|---|---|---|---|---|');
for (const s of summary) {
  console.log(`| ${s.scenario}${s.part === 'main' ? '' : ` (${s.part})`} | ${s.contender} | ${s.rps_median} [${s.rps_min}–${s.rps_max}] | ${s.p50_ms} | ${s.p99_ms} | ${s.ratio_to_ceiling ?? '—'} | ${s.unexpected} |`);
}
const perProcess = (name: string) => (memoryParts[name]!.length > 1 ? ` (primary ${memoryParts[name]![0]}, workers ${memoryParts[name]!.slice(1).join(' and ')})` : '');
console.log(`\nRSS after the runs: ${Object.entries(memory).map(([k, v]) => `${k} ${v} MB${perProcess(k)}`).join(', ')}`);
console.log(`\nwritten to ${file}`);
// A graceful stop (10 s at most) lets a server write what it was asked to at exit (BENCH_NODE_ARGS).
await Promise.all(
  contenders.map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.process.exitCode !== null) return resolve();
        const timer = setTimeout(resolve, 10_000);
        c.process.once('exit', () => (clearTimeout(timer), resolve()));
        c.process.kill('SIGTERM');
      }),
  ),
);
for (const c of contenders) if (c.fixture) await rm(c.fixture.dir, { recursive: true, force: true });
await rm(sqlite.dir, { recursive: true, force: true });
process.exit(0);
