/**
 * What one server process costs, measured from the kernel's own accounts instead of req/s (which a
 * shared machine makes noise of): the start (wall time and CPU from spawn to the first 200 of
 * /readyz), resident memory idle and after load (VmRSS), and CPU milliseconds per request
 * (utime + stime of the server from /proc/<pid>/stat around N requests) for client credentials,
 * refresh-token rotation and a refused attempt (429 from the per-IP reset limit).
 *
 *   npm run bench:cost -- [rounds=3] [requests=2000]
 *
 * `node dist/main.js`, WORKERS=1, LOG_LEVEL=info, a fresh SQLite file per round (with
 * COST_PG_URL=postgresql://…/postgres: a fresh PostgreSQL database `gatehouse_cost` per round
 * instead). Each figure is the median of the rounds, printed with its min–max.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RUNTIME_OPTIONS } from '../src/config/runtime.ts';
import { AUDIENCE, SCOPE, createFixture, freshPostgresDatabase, refreshTokens, root } from './fixture.ts';
import { cpuMs, freePort } from './processes.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const REQUESTS = Number(process.argv[3] ?? 2000);
const CONCURRENCY = 8;
/** Extra node options for the measured start only, e.g. COST_NODE_ARGS='--cpu-prof --cpu-prof-dir=prof'. */
const profileArgs = process.env.COST_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
let nodeArgs: string[] = [];
/** COST_SCENARIOS=refused (comma-separated) measures only those (the others print 0). */
const only = process.env.COST_SCENARIOS?.split(',');
const wanted = (name: string) => !only || only.includes(name);

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(env: NodeJS.ProcessEnv, port: number): Promise<{ child: ChildProcess; wallMs: number; cpuMs: number }> {
  const t0 = performance.now();
  // As `npm start` runs it: node <runtime options> dist/main.js.
  const child = spawn(process.execPath, [...RUNTIME_OPTIONS, ...nodeArgs, join(root, 'dist', 'main.js')], {
    env: { ...env, PORT: String(port), WORKERS: '1', HOST: '127.0.0.1', ISSUER: `http://127.0.0.1:${port}` },
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.once('exit', () => child.kill());
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  const wallMs = performance.now() - t0;
  return { child, wallMs, cpuMs: await cpuMs(child.pid!) };
}

/** `n` requests, CONCURRENCY at a time; each `make(i)` returns one request's promise. */
async function drive(n: number, make: (lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      while (next < n) {
        next++;
        await make(lane);
      }
    }),
  );
}

/** Server CPU ms per request over `n` requests (after a warm-up of n/10). */
async function perRequest(pid: number, n: number, make: (lane: number) => Promise<void>): Promise<number> {
  await drive(Math.ceil(n / 10), make);
  const before = await cpuMs(pid);
  await drive(n, make);
  return ((await cpuMs(pid)) - before) / n;
}

interface Round {
  startWallMs: number;
  startCpuMs: number;
  idleRssMb: number;
  ccCpuMs: number;
  refreshCpuMs: number;
  refusedCpuMs: number;
  /** The floor: GET /healthz (fastify, node http, the access log, nothing else). */
  healthCpuMs: number;
  loadRssMb: number;
}

async function round(): Promise<Round> {
  // COST_PG_URL: each round on a new PostgreSQL database instead of a SQLite file.
  const server = process.env.COST_PG_URL;
  const fixture = await createFixture(server ? await freshPostgresDatabase(server, 'gatehouse_cost') : undefined);
  const env = { ...fixture.env, IP_RESET_LIMIT: '1' };
  // A first start creates the keyring (not what is measured); then the measured start.
  const port = await freePort();
  const first = await start(env, port);
  const url = `http://127.0.0.1:${port}`;
  const tokens = await refreshTokens(url, fixture.webApp, CONCURRENCY);
  first.child.kill('SIGTERM');
  await new Promise((r) => first.child.once('exit', r));

  nodeArgs = profileArgs;
  const s = await start(env, port);
  nodeArgs = [];
  const pid = s.child.pid!;
  await sleep(3000);
  const idleRssMb = await rssMb(pid);

  const form = (body: Record<string, string>) => new URLSearchParams(body).toString();
  const cc = form({ grant_type: 'client_credentials', scope: SCOPE, resource: AUDIENCE });
  const ccCpuMs = !wanted('cc') ? 0 : await perRequest(pid, REQUESTS, async () => {
    const r = await fetch(`${url}/token`, { method: 'POST', headers: { authorization: fixture.service.auth, 'content-type': 'application/x-www-form-urlencoded' }, body: cc });
    if (r.status !== 200) throw new Error(`client credentials: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  });
  const refreshCpuMs = !wanted('refresh') ? 0 : await perRequest(pid, REQUESTS, async (lane) => {
    const r = await fetch(`${url}/token`, { method: 'POST', headers: { authorization: fixture.webApp.auth, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: 'refresh_token', refresh_token: tokens[lane]! }) });
    const json = (await r.json()) as { refresh_token?: string };
    if (r.status !== 200 || !json.refresh_token) throw new Error(`refresh: ${r.status} ${JSON.stringify(json)}`);
    tokens[lane] = json.refresh_token;
  });
  const forgot = JSON.stringify({ email: 'nobody@example.com' });
  let admitted = 0;
  const refusedCpuMs = !wanted('refused') ? 0 : await perRequest(pid, REQUESTS, async () => {
    const r = await fetch(`${url}/account/password/forgot`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: forgot });
    await r.arrayBuffer();
    // IP_RESET_LIMIT=1: the warm-up's first request is admitted, every later one refused.
    if (r.status === 202) admitted++;
    if ((r.status !== 429 && r.status !== 202) || admitted > 1) throw new Error(`refused: ${r.status}`);
  });
  const healthCpuMs = !wanted('health') ? 0 : await perRequest(pid, REQUESTS, async () => {
    const r = await fetch(`${url}/healthz`);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`health: ${r.status}`);
  });
  const loadRssMb = await rssMb(pid);
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.once('exit', r));
  return { startWallMs: s.wallMs, startCpuMs: s.cpuMs, idleRssMb, ccCpuMs, refreshCpuMs, refusedCpuMs, healthCpuMs, loadRssMb };
}

const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  rounds.push(await round());
  process.stderr.write(`round ${i + 1}: ${JSON.stringify(rounds.at(-1))}\n`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const key of Object.keys(rounds[0]!) as (keyof Round)[]) {
  const xs = rounds.map((r) => r[key]);
  const digits = key.endsWith('CpuMs') && !key.startsWith('start') ? 3 : 0;
  console.log(`${key.padEnd(14)} ${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`);
}
