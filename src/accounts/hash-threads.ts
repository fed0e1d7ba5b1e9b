import { Worker } from 'node:worker_threads';
import type { HashAnswer, HashJob } from './hash-thread.js';

export interface HashThreads {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed hash. */
  verify(phc: string, password: string): Promise<boolean>;
  close(): Promise<void>;
  /** Threads started and not yet stopped (busy or idle). */
  alive(): number;
}

/**
 * How long a thread may sit idle before it is stopped. Each thread is a V8 isolate of its own (about
 * 15 MB resident): a process that has checked one password would otherwise hold them for the rest of
 * its life. A minute covers the pauses inside a burst of sign-ins; starting a thread again costs a
 * few tens of milliseconds of CPU, once.
 */
export const HASH_THREAD_IDLE_MS = 60_000;

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
 * keeping the process alive only while they work, and stopped after `idleMs` without work. The caller
 * bounds how many jobs run at once (password-hasher.ts); each job takes an idle thread or starts one.
 * A thread that dies fails its job and is replaced by the next job's.
 */
export function createHashThreads(options: { idleMs?: number } = {}): HashThreads {
  const idleMs = options.idleMs ?? HASH_THREAD_IDLE_MS;
  const idle: Worker[] = [];
  const retire = new Map<Worker, NodeJS.Timeout>();
  const all = new Set<Worker>();
  const waiting = new Map<Worker, { id: number; resolve: (a: HashAnswer) => void; reject: (e: Error) => void }>();
  let next = 0;

  const start = (): Worker => {
    const worker = new Worker(SCRIPT, { execArgv: EXEC_ARGV, env: { ...process.env, NODE_OPTIONS: '' } });
    all.add(worker);
    const fail = (err: Error) => {
      all.delete(worker);
      clearTimeout(retire.get(worker));
      retire.delete(worker);
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
      retire.set(
        worker,
        setTimeout(() => {
          retire.delete(worker);
          const i = idle.indexOf(worker);
          if (i < 0) return;
          idle.splice(i, 1);
          all.delete(worker);
          void worker.terminate();
        }, idleMs).unref(),
      );
      job.resolve(answer);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread stopped (${code})`)));
    return worker;
  };

  const run = (job: DistributiveOmit<Job, 'id'>): Promise<HashAnswer> => {
    const worker = idle.pop() ?? start();
    clearTimeout(retire.get(worker));
    retire.delete(worker);
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
      for (const timer of retire.values()) clearTimeout(timer);
      retire.clear();
      await Promise.all([...all].map((w) => w.terminate()));
    },
    alive: () => all.size,
  };
}
