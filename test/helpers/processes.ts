import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import { RUNTIME_ENV, RUNTIME_OPTIONS } from '../../src/config/runtime.ts';
import { packageRoot } from '../../src/lib/package-root.ts';

/** The compiled entry points (`npm test` builds first), run as an operator would run them. */
export const MAIN_JS = join(packageRoot(), 'dist', 'main.js');
export const CLI_JS = join(packageRoot(), 'dist', 'cli', 'main.js');

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/**
 * Starts `node [nodeArgs] script args`. The server (MAIN_JS) gets the runtime options and environment
 * `npm start` gives it unless a test passes its own options (then neither: a plain `node`).
 */
export function startProcess(
  t: Test,
  script: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  nodeArgs?: readonly string[],
): RunningProcess {
  const asNpmStart = script === MAIN_JS && nodeArgs === undefined;
  const child = spawn(process.execPath, [...(nodeArgs ?? (asNpmStart ? RUNTIME_OPTIONS : [])), script, ...args], {
    cwd,
    // One server process unless a test asks for workers (test/cluster covers WORKERS > 1).
    env: { PATH: process.env.PATH ?? '', WORKERS: '1', ...(asNpmStart ? RUNTIME_ENV : {}), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // A process group of its own: the teardown removes the process and whatever it started (workers).
    detached: true,
  });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    // A worker whose primary was killed while the worker was still loading has hung in the test
    // runner's coverage hooks (tap adds them to every child's NODE_OPTIONS), holding this test's
    // pipes open until the file timed out. No test leaves a process behind. What a worker does
    // when its primary dies is asserted in test/cluster/lifecycle.test.ts.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is empty: nothing left.
    }
  });
  return { child, output: () => text, exited };
}

/**
 * How long a process may take to become ready before a test gives up: a guard against a hang, never
 * a speed check (a cold start takes 5–8 s on a loaded 2-core machine). Report the measured time in a
 * comment instead of asserting on it.
 */
export const READY_DEADLINE_MS = 60_000;

/**
 * Polls `url` until it answers `status`, failing after `timeoutMs` (or as soon as `giveUp()` says so:
 * the server it waits for has exited). Returns the time it took.
 */
export async function waitForStatus(url: string, status: number, timeoutMs = READY_DEADLINE_MS, giveUp: () => boolean = () => false): Promise<number> {
  const started = performance.now();
  let last = 'no answer';
  while (performance.now() - started < timeoutMs) {
    if (giveUp()) throw new Error(`stopped waiting for ${url}: the process exited`);
    try {
      const res = await fetch(url);
      if (res.status === status) return performance.now() - started;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Runs a command to completion. */
export async function runProcess(
  script: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}
