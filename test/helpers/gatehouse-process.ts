import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { DatabaseKind } from '../../src/config/schema.ts';
import { createTestDatabase } from './databases.ts';
import { CLI_JS, freePort, MAIN_JS, runProcess, startProcess, waitForStatus, type RunningProcess } from './processes.ts';
import { tempDir } from './temp-dir.ts';

/** How long a start may take before the test calls it a hang (not a speed requirement). */
const START_DEADLINE_MS = 60_000;

export interface GatehouseDeployment {
  kind: DatabaseKind;
  dir: string;
  /** SQLite: the database file; PostgreSQL: the connection URL. */
  databaseUrl: string;
  dataDir: string;
  /** The environment every process of this deployment (servers and CLI) runs with. */
  env: Record<string, string>;
  /**
   * Starts one server process as `npm start` does (`node <runtime options> dist/main.js`; `nodeArgs`
   * replaces the options) and waits until /readyz answers 200.
   */
  start(extraEnv?: Record<string, string>, nodeArgs?: readonly string[]): Promise<GatehouseServer>;
  /** Runs `gatehouse <argv>` as its own process (`node dist/cli/main.js`). */
  cli(argv: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface GatehouseServer {
  url: string;
  port: number;
  pid: number;
  process: RunningProcess;
  /** SIGKILL, and wait for the process to be gone. */
  kill9(): Promise<void>;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | string>;
}

/**
 * One Gatehouse installation as an operator runs it: a data folder, a keys folder, a database (a
 * SQLite file in the data folder, or a fresh PostgreSQL database), the server and the CLI as separate
 * processes over the same environment.
 */
export async function gatehouseDeployment(
  t: Test,
  kind: DatabaseKind,
  options: { env?: Record<string, string>; port?: number } = {},
): Promise<GatehouseDeployment> {
  const dir = await tempDir(t, 'gatehouse-deploy-');
  const dataDir = join(dir, 'data');
  const databaseUrl = kind === 'sqlite' ? `file:${join(dataDir, 'gatehouse.db')}` : (await createTestDatabase(t, 'postgres')).url;
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = {
    PORT: String(port),
    ISSUER: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    KEYS_DIR: join(dir, 'keys'),
    LOG_LEVEL: 'warn',
    ...(kind === 'postgres' ? { DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  };
  return {
    kind,
    dir,
    dataDir,
    databaseUrl,
    env,
    async start(extraEnv = {}, nodeArgs) {
      const serverEnv = { ...env, ...extraEnv };
      const serverPort = Number(serverEnv.PORT);
      const proc = startProcess(t, MAIN_JS, [], serverEnv, dir, nodeArgs);
      const url = `http://127.0.0.1:${serverPort}`;
      await Promise.race([
        waitForStatus(`${url}/readyz`, 200, START_DEADLINE_MS, () => proc.child.exitCode !== null || proc.child.signalCode !== null),
        proc.exited.then((code) => {
          throw new Error(`the server exited (${code}) before it was ready:\n${proc.output()}`);
        }),
      ]);
      return {
        url,
        port: serverPort,
        pid: proc.child.pid!,
        process: proc,
        async kill9() {
          if (proc.child.exitCode === null && proc.child.signalCode === null) {
            proc.child.kill('SIGKILL');
            await proc.exited;
          }
        },
        async stop() {
          proc.child.kill('SIGTERM');
          return proc.exited;
        },
      };
    },
    cli: (argv, stdin) => runProcess(CLI_JS, argv, env, dir, stdin),
  };
}

/** Runs the sqlite3 shell (Debian's package) on a database file: a reader that is not Gatehouse. */
export async function sqlite3(file: string, sql: string, flags: readonly string[] = []): Promise<string> {
  const child = spawn('sqlite3', [...flags, '-bail', '-cmd', '.timeout 5000', file, sql]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // 'close', not 'exit': the output may still be in the pipe when the process has exited.
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`sqlite3 exited ${code}: ${err}`);
  return out.trim();
}
