import { readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type * as Argon2 from '@node-rs/argon2';
import { ARGON2_PARAMS } from './argon2-params.js';

// Loaded with require, not import: an ES module importing a CommonJS one makes Node start its
// CommonJS export lexer in this thread's isolate, measured at 6-7 MB of resident memory per hashing
// thread (docs/architecture.md, "Memory").
const { hashSync, verifySync } = createRequire(import.meta.url)('@node-rs/argon2') as typeof Argon2;

/**
 * One password-hashing thread (hash-threads.ts). It runs argon2id synchronously, one job at a time,
 * at a lower CPU priority than the rest of the process: on a busy core the scheduler runs the event
 * loop (token, JWKS and health requests) first and hashes with what is left.
 */
export type HashJob = { id: number; op: 'hash'; password: string } | { id: number; op: 'verify'; phc: string; password: string };
export type HashAnswer = { id: number; result: string | boolean } | { id: number; error: string };

/** Nice 10 for this thread only: on Linux, setpriority() on a thread id changes just that thread. */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // Not Linux, or no /proc: the thread runs at the process's priority.
  }
}

lowerPriority();
parentPort!.on('message', (job: HashJob) => {
  let answer: HashAnswer;
  try {
    answer = { id: job.id, result: job.op === 'hash' ? hashSync(job.password, ARGON2_PARAMS) : verifySync(job.phc, job.password) };
  } catch (err) {
    answer = { id: job.id, error: (err as Error).message };
  }
  parentPort!.postMessage(answer);
});
