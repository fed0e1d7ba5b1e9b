import { Worker } from 'node:worker_threads';
import type { HashAnswer, HashJob } from './hash-thread.js';

export interface HashThreads {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed hash. */
  verify(phc: string, password: string): Promise<boolean>;
  close(): Promise<void>;
}

// Compiled, this module sits beside hash-thread.js; run from source (tests, tsx), beside hash-thread.ts,
// which the thread loads through tsx. Nothing else of the process's command line or NODE_OPTIONS is
// passed on (a test runner's hooks have no business in a hashing thread).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const SCRIPT = new URL(FROM_SOURCE ? './hash-thread.ts' : './hash-thread.js', import.meta.url);
const EXEC_ARGV = FROM_SOURCE ? ['--import', 'tsx'] : [];

type Job = { id: number; op: 'hash'; password: string } | { id: number; op: 'verify'; phc: string; password: string };
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/**
 * Threads that run argon2id at a lower CPU priority (hash-thread.ts), started when first needed and
 * keeping the process alive only while they work. The caller bounds how many jobs run at once (password-hasher.ts);
 * each job takes an idle thread or starts one. A thread that dies fails its job and is replaced by
 * the next job's.
 */
export function createHashThreads(): HashThreads {
  const idle: Worker[] = [];
  const all = new Set<Worker>();
  const waiting = new Map<Worker, { id: number; resolve: (a: HashAnswer) => void; reject: (e: Error) => void }>();
  let next = 0;

  const start = (): Worker => {
    const worker = new Worker(SCRIPT, { execArgv: EXEC_ARGV, env: { ...process.env, NODE_OPTIONS: '' } });
    all.add(worker);
    const fail = (err: Error) => {
      all.delete(worker);
      const i = idle.indexOf(worker);
      if (i >= 0) idle.splice(i, 1);
      const job = waiting.get(worker);
      waiting.delete(worker);
      job?.reject(err);
    };
    worker.on('message', (answer: HashAnswer) => {
      const job = waiting.get(worker);
      if (!job || job.id !== answer.id) return;
      waiting.delete(worker);
      worker.unref();
      idle.push(worker);
      job.resolve(answer);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread stopped (${code})`)));
    return worker;
  };

  const run = (job: DistributiveOmit<Job, 'id'>): Promise<HashAnswer> => {
    const worker = idle.pop() ?? start();
    const id = next++;
    return new Promise<HashAnswer>((resolve, reject) => {
      // Referenced while it works (a CLI command waits for its hash), never while idle.
      worker.ref();
      waiting.set(worker, { id, resolve, reject });
      worker.postMessage({ ...job, id } as HashJob);
    });
  };

  return {
    async hash(password) {
      const answer = await run({ op: 'hash', password });
      if ('error' in answer) throw new Error(answer.error);
      return answer.result as string;
    },
    async verify(phc, password) {
      const answer = await run({ op: 'verify', phc, password });
      return 'result' in answer && answer.result === true;
    },
    async close() {
      await Promise.all([...all].map((w) => w.terminate()));
    },
  };
}
