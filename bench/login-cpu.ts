/**
 * Where a sign-in's CPU goes: Gatehouse (one worker, SQLite, pinned to CPU 0) under a wrong-password
 * flood from wrk (CPU 1), with each thread's user and system CPU read from /proc before and after.
 * `main` is the event loop; the hashing worker threads and V8's helper threads are named `node`.
 * `npm run build && npx tsx bench/login-cpu.ts` (BENCH_DURATION seconds, default 10; BENCH_LOG_LEVEL;
 * BENCH_NODE_ARGS adds node options to the server, e.g. '--cpu-prof --cpu-prof-dir=prof').
 * Prints milliseconds of CPU per login by thread; writes nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RUNTIME_OPTIONS } from '../src/config/runtime.ts';
import { createFixture, REDIRECT, root } from './fixture.ts';
import { relyingParty, startAuthorization } from '../test/helpers/relying-party.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';

const seconds = Number(process.env.BENCH_DURATION ?? 10);
const fixture = await createFixture();
const port = 4790 + Math.floor(Math.random() * 100);
const url = `http://localhost:${port}`;
const env = { ...fixture.env, PORT: String(port), ISSUER: url, WORKERS: '1' };
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const server = spawn('taskset', ['-c', '0', process.execPath, ...RUNTIME_OPTIONS, ...nodeArgs, join(root, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
try {
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (server.exitCode !== null) throw new Error('the server stopped');
    await new Promise((r) => setTimeout(r, 100));
  }
  const config = await relyingParty({ issuer: url }, fixture.webApp);
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email' });
  const ua = new UserAgent();
  const page = await ua.follow(start.url.href, REDIRECT);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(page.url)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!uid || !csrf) throw new Error(`no sign-in form at ${page.url}`);

  /** Milliseconds of CPU so far, by thread ("main" or the thread's name) and user/system. */
  const cpu = () => {
    const out: Record<string, number> = {};
    const tick = 1000 / Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);
    for (const tid of readdirSync(`/proc/${server.pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${server.pid}/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const name = tid === String(server.pid) ? 'main' : readFileSync(`/proc/${server.pid}/task/${tid}/comm`, 'utf8').trim();
        out[`${name} user`] = (out[`${name} user`] ?? 0) + Number(fields[11]) * tick;
        out[`${name} system`] = (out[`${name} system`] ?? 0) + Number(fields[12]) * tick;
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return out;
  };
  const flood = (duration: number) => {
    const run = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${duration}s`, '-s', join(root, 'bench', 'wrk', 'login.lua'), `${url}/interaction/${uid}/login`], {
      env: { ...process.env, BENCH_COOKIE: ua.cookieHeader(), BENCH_CSRF: csrf },
    });
    if (run.status !== 0) throw new Error(`wrk: ${run.stderr.toString()}`);
    return run.stdout.toString();
  };
  flood(Math.max(2, Math.round(seconds / 4)));
  const before = cpu();
  const out = flood(seconds);
  const after = cpu();
  const logins = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non401 = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  console.log(`${logins} wrong-password sign-ins in ${seconds} s (${(logins / seconds).toFixed(1)}/s) (${non401 ?? 0} not 2xx: a wrong password answers 401)`);
  let total = 0;
  for (const key of Object.keys(after).sort()) {
    const ms = after[key]! - (before[key] ?? 0);
    total += ms;
    if (ms > 0) console.log(`${key.padEnd(28)} ${(ms / logins).toFixed(2)} ms per sign-in`);
  }
  console.log(`${'all threads'.padEnd(28)} ${(total / logins).toFixed(2)} ms per sign-in`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(fixture.dir, { recursive: true, force: true });
}
