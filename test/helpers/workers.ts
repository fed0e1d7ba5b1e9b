import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { Test } from 'tap';
import { gatehouseDeployment, type GatehouseDeployment, type GatehouseServer } from './gatehouse-process.ts';
import { basic } from './tokens.ts';
import { waitUntil } from './wait-until.ts';

/**
 * A server started with WORKERS=2 (a primary and two worker processes sharing one port) on the
 * default SQLite database, and requests that each go over a connection of their own, so the primary
 * hands them to the workers in turn (round-robin). Used by test/cluster.
 */

/** Hang guards for what happens in real time in the processes; never speed checks. */
export const SOON_MS = 30_000;
export const API = 'https://orders.example.com';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a new connection (no keep-alive agent): the primary picks a worker for it. */
export function fresh(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: { connection: 'close', ...init.headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The pids of a process's children (its workers), from /proc. */
export async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function twoWorkers(t: Test, env: Record<string, string> = {}): Promise<{ gh: GatehouseDeployment; server: GatehouseServer; workers: number[] }> {
  const gh = await gatehouseDeployment(t, 'sqlite', { env: { WORKERS: '2', LOG_LEVEL: 'info', ...env } });
  const server = await gh.start();
  // The primary says so once both workers listen.
  await waitUntil(() => /gatehouse listening on .* \(2 workers\)/.test(server.process.output()), 'both workers listening', SOON_MS);
  const workers = await childrenOf(server.pid);
  return { gh, server, workers };
}

export async function serviceClient(t: Test, gh: GatehouseDeployment): Promise<string> {
  t.equal((await gh.cli(['resources', 'create', '--audience', API, '--scope', 'orders:read'])).code, 0);
  const created = await gh.cli(['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API, '--json']);
  const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  return basic(client_id, client_secret);
}

export const tokenRequest = (url: string, auth: string) =>
  fresh(`${url}/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });

/** A counter's value in Prometheus text, summed over its label sets that match `labels`. */
export function metric(text: string, name: string, labels: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

