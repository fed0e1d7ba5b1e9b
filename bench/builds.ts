/**
 * `npx tsx bench/builds.ts <other-root> [<root>]`: two built Gatehouse trees (each with `dist/`, e.g. a
 * `git worktree` of an older commit after `npm run build`) against each other on SQLite, in
 * interleaved rounds (A, B, A, B, …) so both see the same machine. Per round and tree:
 * - client-credentials tokens/s: wrk (Debian's, 16 connections) pinned to one core with taskset, the
 *   server to another;
 * - password logins/s: a driver process on the load core runs whole sign-ins (authorization request,
 *   login page, form post with the right password, answered by the redirect onwards) with 8 at once.
 * Prints each round, then the median and spread per tree and the B/A ratio; writes JSON to
 * bench/results/. Environment: BENCH_ROUNDS (3), BENCH_DURATION seconds (10), BENCH_SERVER_CPU (0),
 * BENCH_LOAD_CPU (1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, run, waitReady } from './processes.ts';

const here = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0';
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '1';
const AUDIENCE = 'https://bench.example.com';
const SCOPE = 'bench:read';
const REDIRECT = 'http://127.0.0.1:9/callback';
const EMAIL = 'bench@example.com';
const PASSWORD = 'correct horse battery staple 9';

const base64url = (b: Buffer) => b.toString('base64url');

/** The login driver, run as its own process on the load core: `builds.ts --logins <json>`. */
async function loginDriver(o: { url: string; clientId: string; seconds: number; concurrency: number }): Promise<void> {
  const end = Date.now() + o.seconds * 1000;
  let done = 0;
  let failed = 0;
  const reasons = new Map<string, number>();
  const signIn = async () => {
    const jar = new Map<string, string>();
    const request = async (url: string, form?: Record<string, string>) => {
      const headers: Record<string, string> = { accept: 'text/html' };
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(new URL(url, o.url), { method: form ? 'POST' : 'GET', headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual' });
      for (const line of res.headers.getSetCookie()) {
        const pair = line.split(';')[0]!;
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
      return { status: res.status, location: res.headers.get('location'), body: await res.text() };
    };
    const verifier = base64url(randomBytes(32));
    const query = new URLSearchParams({
      client_id: o.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid email',
      state: base64url(randomBytes(8)),
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
    });
    const start = await request(`/auth?${query}`);
    if (!start.location) throw new Error(`authorization request answered ${start.status}`);
    const page = await request(start.location);
    const action = /action="([^"]*\/login)"/.exec(page.body)?.[1];
    const csrf = /name="csrf" value="([^"]*)"/.exec(page.body)?.[1];
    if (!action || !csrf) throw new Error(`no login form (${page.status})`);
    const posted = await request(action.replace(/&amp;/g, '&'), { csrf, email: EMAIL, password: PASSWORD });
    if (posted.status !== 303 || !posted.location || /\/login/.test(posted.location)) throw new Error(`login answered ${posted.status}`);
  };
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (Date.now() < end) {
        try {
          await signIn();
          done += 1;
        } catch (err) {
          failed += 1;
          const reason = (err as Error).message;
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
      }
    }),
  );
  process.stdout.write(JSON.stringify({ done, failed, seconds: o.seconds, reasons: Object.fromEntries(reasons) }));
}

interface Tree {
  name: string;
  root: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  service: { client_id: string; client_secret: string };
  web: { client_id: string };
}

async function prepare(name: string, root: string, scratch: string): Promise<Tree> {
  const dir = join(scratch, name);
  const env = {
    ...process.env,
    DATA_DIR: join(dir, 'data'),
    KEYS_DIR: join(dir, 'keys'),
    LOG_LEVEL: 'info',
    NODE_ENV: 'development',
    // Thousands of sign-ins from one address are the point here, not an attack.
    IP_FAILURE_LIMIT: '1000000',
  };
  const cli = (args: string[], input?: string) => run(process.execPath, [join(root, 'dist', 'cli', 'main.js'), ...args, '--json'], { env, cwd: root, input });
  // Older trees migrate in every command; newer ones only in `migrate`.
  await cli(['migrate']).catch(() => undefined);
  await cli(['resources', 'create', '--audience', AUDIENCE, '--scope', SCOPE]);
  const service = JSON.parse(await cli(['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', AUDIENCE])) as Tree['service'];
  const web = JSON.parse(await cli(['clients', 'create', '--name', 'web', '--public', '--grant', 'authorization_code', '--redirect-uri', REDIRECT, '--scope', 'openid email'])) as Tree['web'];
  await cli(['users', 'create', EMAIL, '--password-stdin', '--verified'], `${PASSWORD}\n`);
  return { name, root, dir, env, service, web };
}

async function start(tree: Tree): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('taskset', ['-c', SERVER_CPU, process.execPath, join(tree.root, 'dist', 'main.js')], {
    cwd: tree.root,
    env: { ...tree.env, PORT: String(port), ISSUER: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`);
  return { url, child };
}

async function tokensPerSecond(tree: Tree, url: string, scratch: string): Promise<number> {
  const script = join(scratch, `${tree.name}-token.lua`);
  const auth = Buffer.from(`${tree.service.client_id}:${tree.service.client_secret}`).toString('base64');
  await writeFile(
    script,
    [
      'wrk.method = "POST"',
      `wrk.headers["authorization"] = "Basic ${auth}"`,
      'wrk.headers["content-type"] = "application/x-www-form-urlencoded"',
      `wrk.body = "grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}&resource=${encodeURIComponent(AUDIENCE)}"`,
      'local errors = 0',
      'response = function(status) if status ~= 200 then errors = errors + 1 end end',
      'done = function() io.write(string.format("non200 %d\\n", errors)) end',
    ].join('\n'),
  );
  const wrk = (seconds: number) => run('taskset', ['-c', LOAD_CPU, 'wrk', '-t1', '-c16', `-d${seconds}s`, '-s', script, `${url}/token`]);
  await wrk(2); // warm-up
  const out = await wrk(DURATION);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const non200 = Number(/non200 (\d+)/.exec(out)?.[1] ?? 'NaN');
  if (!(rps > 0) || non200 !== 0) throw new Error(`wrk against ${tree.name}: ${non200} non-200 answers\n${out}`);
  return rps;
}

/** Successful sign-ins per second; failures are counted and reported, not hidden. */
async function loginsPerSecond(tree: Tree, url: string): Promise<{ rate: number; failed: number; reasons: Record<string, number> }> {
  const driver = (seconds: number) =>
    run('taskset', ['-c', LOAD_CPU, process.execPath, '--import', 'tsx', join(here, 'bench', 'builds.ts'), '--logins', JSON.stringify({ url, clientId: tree.web.client_id, seconds, concurrency: 8 })], {
      cwd: here,
    });
  await driver(2); // warm-up
  const r = JSON.parse(await driver(DURATION)) as { done: number; failed: number; seconds: number; reasons: Record<string, number> };
  if (r.done === 0) throw new Error(`no login against ${tree.name} succeeded: ${JSON.stringify(r.reasons)}`);
  return { rate: r.done / r.seconds, failed: r.failed, reasons: r.reasons };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const [other, mine = here] = process.argv.slice(2);
  if (!other) throw new Error('usage: tsx bench/builds.ts <other-root> [<root>]');
  const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-builds-'));
  try {
    const trees = [await prepare('A', resolve(other), scratch), await prepare('B', resolve(mine), scratch)];
    const results: Record<string, { tokens: number[]; logins: number[]; loginFailures: Record<string, number>[] }> = {
      A: { tokens: [], logins: [], loginFailures: [] },
      B: { tokens: [], logins: [], loginFailures: [] },
    };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const tree of round % 2 ? trees : [...trees].reverse()) {
        const server = await start(tree);
        try {
          const tokens = await tokensPerSecond(tree, server.url, scratch);
          const logins = await loginsPerSecond(tree, server.url);
          results[tree.name]!.tokens.push(tokens);
          results[tree.name]!.logins.push(logins.rate);
          results[tree.name]!.loginFailures.push(logins.reasons);
          const failures = logins.failed ? ` (${logins.failed} failed: ${JSON.stringify(logins.reasons)})` : '';
          process.stdout.write(`round ${round} ${tree.name}: ${tokens.toFixed(0)} tokens/s, ${logins.rate.toFixed(1)} logins/s${failures}\n`);
        } finally {
          server.child.kill('SIGTERM');
          await once(server.child, 'exit');
        }
      }
    }
    const summary = Object.fromEntries(
      Object.entries(results).map(([name, r]) => [
        name,
        {
          root: trees.find((t) => t.name === name)!.root,
          tokens_per_s: { median: median(r.tokens), min: Math.min(...r.tokens), max: Math.max(...r.tokens) },
          logins_per_s: { median: median(r.logins), min: Math.min(...r.logins), max: Math.max(...r.logins) },
        },
      ]),
    );
    const ratio = {
      tokens: Number((summary.B!.tokens_per_s.median / summary.A!.tokens_per_s.median).toFixed(3)),
      logins: Number((summary.B!.logins_per_s.median / summary.A!.logins_per_s.median).toFixed(3)),
    };
    for (const [name, s] of Object.entries(summary)) {
      process.stdout.write(
        `${name} (${s.root}): tokens/s median ${s.tokens_per_s.median.toFixed(0)} [${s.tokens_per_s.min.toFixed(0)}–${s.tokens_per_s.max.toFixed(0)}], ` +
          `logins/s median ${s.logins_per_s.median.toFixed(1)} [${s.logins_per_s.min.toFixed(1)}–${s.logins_per_s.max.toFixed(1)}]\n`,
      );
    }
    process.stdout.write(`B/A: tokens ${ratio.tokens}, logins ${ratio.logins}\n`);
    const at = new Date().toISOString();
    const file = join(here, 'bench', 'results', `builds-${at.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify({ at, node: process.version, cpus: cpus().length, rounds: ROUNDS, duration_s: DURATION, server_cpu: SERVER_CPU, load_cpu: LOAD_CPU, summary, ratio, raw: results }, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--logins') await loginDriver(JSON.parse(process.argv[3]!) as Parameters<typeof loginDriver>[0]);
else await main();
