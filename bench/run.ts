/**
 * `npm run bench`: Gatehouse (SQLite, built dist/, production-like start) against the ceiling — a bare
 * oidc-provider with its memory adapter, the same keys, client and API — on loopback, with autocannon.
 * Scenarios: client-credentials token issuance and JWKS. Prints req/s, p50/p99 latency and the
 * Gatehouse/ceiling ratio; writes JSON to bench/results/. Both servers run while autocannon runs in
 * this process, so the comparison shares one machine's conditions; run it on an idle machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, run, waitReady } from './processes.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const AUDIENCE = 'https://bench.example.com';
const SCOPE = 'bench:read';

type Row = { server: string; scenario: string; rps: number; p50: number; p99: number; errors: number; non2xx: number };

async function measure(server: string, scenario: string, opts: autocannon.Options): Promise<Row> {
  // A short warm-up (JIT, connection pools, caches), then the measured run.
  await autocannon({ ...opts, duration: 2, connections: CONNECTIONS });
  const r = await autocannon({ ...opts, duration: DURATION, connections: CONNECTIONS });
  return { server, scenario, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

const children: ChildProcess[] = [];
const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
try {
  const env = { ...process.env, DATA_DIR: join(dir, 'data'), KEYS_DIR: join(dir, 'keys'), LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', NODE_ENV: 'development' };
  const cliJs = join(root, 'dist', 'cli', 'main.js');
  // Only `gatehouse migrate` and the server's start create the schema.
  await run(process.execPath, [cliJs, 'migrate', '--json'], { env, cwd: root });
  await run(process.execPath, [cliJs, 'resources', 'create', '--audience', AUDIENCE, '--scope', SCOPE, '--json'], { env, cwd: root });
  const client = JSON.parse(await run(process.execPath, [cliJs, 'clients', 'create', '--name', 'bench', '--grant', 'client_credentials', '--resource', AUDIENCE, '--json'], { env, cwd: root })) as {
    client_id: string;
    client_secret: string;
  };

  const ghPort = await freePort();
  const gh = spawn(process.execPath, [join(root, 'dist', 'main.js')], { cwd: root, env: { ...env, PORT: String(ghPort) }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(gh);
  const ghUrl = `http://127.0.0.1:${ghPort}`;
  await waitReady(`${ghUrl}/readyz`);

  // The ceiling signs with the very keys Gatehouse created (same algorithms, same key sizes).
  const manifest = JSON.parse(await readFile(join(dir, 'keys', 'manifest.json'), 'utf8')) as { keys: { kid: string }[] };
  const keys = await Promise.all(manifest.keys.map(async (k) => JSON.parse(await readFile(join(dir, 'keys', `${k.kid}.json`), 'utf8'))));
  const keysFile = join(dir, 'bare-jwks.json');
  await writeFile(keysFile, JSON.stringify({ keys }), { mode: 0o600 });
  const barePort = await freePort();
  const bare = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'bare-provider.ts'), keysFile, client.client_id, client.client_secret, AUDIENCE, SCOPE, String(barePort)], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(bare);
  const bareUrl = `http://127.0.0.1:${barePort}`;
  await waitReady(`${bareUrl}/jwks`);

  const tokenRequest = (url: string): autocannon.Options => ({
    url: `${url}/token`,
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}&resource=${encodeURIComponent(AUDIENCE)}`,
  });

  const rows: Row[] = [];
  for (const [scenario, make] of [
    ['client_credentials token', tokenRequest],
    ['JWKS', (url: string): autocannon.Options => ({ url: `${url}/jwks` })],
  ] as const) {
    rows.push(await measure('gatehouse', scenario, make(ghUrl)));
    rows.push(await measure('bare oidc-provider', scenario, make(bareUrl)));
  }

  const pad = (s: string | number, n: number) => String(s).padEnd(n);
  process.stdout.write(`\n${pad('scenario', 26)}${pad('server', 20)}${pad('req/s', 10)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('non-2xx', 8)}\n`);
  for (const r of rows) process.stdout.write(`${pad(r.scenario, 26)}${pad(r.server, 20)}${pad(r.rps, 10)}${pad(r.p50, 8)}${pad(r.p99, 8)}${pad(r.non2xx + r.errors, 8)}\n`);
  const ratios: Record<string, number> = {};
  for (const scenario of new Set(rows.map((r) => r.scenario))) {
    const ours = rows.find((r) => r.scenario === scenario && r.server === 'gatehouse')!;
    const ceiling = rows.find((r) => r.scenario === scenario && r.server !== 'gatehouse')!;
    ratios[scenario] = Number((ours.rps / ceiling.rps).toFixed(3));
    process.stdout.write(`ratio ${scenario}: gatehouse/ceiling = ${ratios[scenario]}\n`);
  }
  const failed = rows.filter((r) => r.non2xx + r.errors > 0);
  const result = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    duration_s: DURATION,
    connections: CONNECTIONS,
    log_level: env.LOG_LEVEL,
    database: 'sqlite',
    rows,
    ratios,
  };
  const file = join(root, 'bench', 'results', `protocol-${result.at.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
  if (failed.length > 0) {
    process.stderr.write(`non-2xx responses or errors in: ${failed.map((r) => `${r.server}/${r.scenario}`).join(', ')}\n`);
    process.exitCode = 1;
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  await rm(dir, { recursive: true, force: true });
}
