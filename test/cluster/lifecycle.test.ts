import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import t from 'tap';
import { RUNTIME_ENV, RUNTIME_OPTIONS } from '../../src/config/runtime.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { alive, childrenOf, fresh, SOON_MS, twoWorkers } from '../helpers/workers.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// A hang guard, not a speed requirement: this file runs many server or CLI processes, and on a loaded
// machine (two suites side by side on two cores) such files came within reach of the default 180 s.
t.setTimeout(600_000);

const commandLine = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
/** The environment a process started with, as NAME=value strings. */
const environment = async (pid: number) => (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter(Boolean);
const runtimeEnv = Object.entries(RUNTIME_ENV).map(([name, value]) => `${name}=${value}`);

/** WORKERS=2 (test/helpers/workers.ts): the primary supervises its workers and stops with them. */

t.test('a worker killed with SIGKILL is replaced; the port keeps answering', async (t) => {
  const { server, workers } = await twoWorkers(t);
  process.kill(workers[0]!, 'SIGKILL');
  let now: number[] = [];
  await waitUntil(async () => (now = await childrenOf(server.pid)).length === 2 && !now.includes(workers[0]!), 'a new worker', SOON_MS);
  t.notOk(now.includes(workers[0]!), 'the killed worker is gone');
  t.equal(now.length, 2, 'and another took its place');
  const answers = await Promise.all(Array.from({ length: 10 }, () => fresh(`${server.url}/readyz`)));
  t.same(answers.map((a) => a.status), Array(10).fill(200), 'both workers answer');
  t.match(server.process.output(), /a worker died; starting another/, 'the primary says so');
});

t.test('the primary killed with SIGKILL: its workers stop too (no orphans holding the database)', async (t) => {
  const { server, workers } = await twoWorkers(t);
  await server.kill9();
  await waitUntil(async () => workers.every((pid) => !alive(pid)), 'workers gone', SOON_MS);
  t.pass('both workers exited');
});

t.test('SIGTERM: the workers drain and everything exits 0', async (t) => {
  const { server, workers } = await twoWorkers(t);
  t.equal(await server.stop(), 0, 'the primary exits 0');
  t.ok(workers.every((pid) => !alive(pid)), 'after both workers');
});

t.test('a worker that cannot start stops the whole server with its message and a non-zero status', async (t) => {
  // The port is taken by another program: every worker's listen fails.
  // It hangs up on whoever connects (the readiness poll), so nothing waits on it.
  const squatter = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  t.teardown(() => void squatter.close());
  const port = (squatter.address() as { port: number }).port;
  const gh = await gatehouseDeployment(t, 'sqlite', { env: { WORKERS: '2' }, port });
  const failed = await gh.start().then(
    () => undefined,
    (err: Error) => err.message,
  );
  t.ok(failed, 'the server never becomes ready');
  t.match(failed, /the server exited \((?!0\))/, 'the primary exits non-zero');
  t.match(failed, /EADDRINUSE/, 'with the worker\'s reason');
  t.match(failed, /a worker failed to start; stopping/, 'and says why it stopped');
});

t.test('workers run with the runtime options and environment npm start uses, even when the primary was started without them', async (t) => {
  const gh = await gatehouseDeployment(t, 'sqlite', { env: { WORKERS: '2', LOG_LEVEL: 'info' } });
  const server = await gh.start({}, []); // plain `node dist/main.js`
  await waitUntil(() => /gatehouse listening on .* \(2 workers\)/.test(server.process.output()), 'both workers listening', SOON_MS);
  const primary = await commandLine(server.pid);
  t.notOk(RUNTIME_OPTIONS.some((o) => primary.includes(o)), `the primary: ${primary.slice(0, -1).join(' ')}`);
  const primaryEnv = await environment(server.pid);
  t.notOk(runtimeEnv.some((v) => primaryEnv.includes(v)), 'nor their environment');
  const workers = await childrenOf(server.pid);
  t.equal(workers.length, 2);
  for (const pid of workers) {
    const argv = await commandLine(pid);
    t.ok(RUNTIME_OPTIONS.every((o) => argv.includes(o)), `a worker: ${argv.slice(0, -1).join(' ')}`);
    const env = await environment(pid);
    t.ok(runtimeEnv.every((v) => env.includes(v)), `and ${runtimeEnv.join(' ')}`);
  }
});

t.test("the operator's own MALLOC_ARENA_MAX reaches the workers unchanged", async (t) => {
  const gh = await gatehouseDeployment(t, 'sqlite', { env: { WORKERS: '2', LOG_LEVEL: 'info', MALLOC_ARENA_MAX: '8' } });
  const server = await gh.start();
  await waitUntil(() => /gatehouse listening on .* \(2 workers\)/.test(server.process.output()), 'both workers listening', SOON_MS);
  const workers = await childrenOf(server.pid);
  t.equal(workers.length, 2);
  for (const pid of workers) t.ok((await environment(pid)).includes('MALLOC_ARENA_MAX=8'), 'a worker has the value the operator set');
});
