import { unavailable } from '../errors.js';
import type { Trace } from '../observability/tracing.js';
import { ARGON2_PARAMS } from './argon2-params.js';
import { createHashThreads } from './hash-threads.js';

export { ARGON2_PARAMS };

/**
 * argon2id (argon2-params.ts) on threads of their own at a lower CPU priority (hash-threads.ts): a
 * login flood uses the CPU the event loop leaves, instead of taking it from token, JWKS and health
 * requests. The semaphore bounds how many hashes run at once (one thread each) and how many wait.
 */
const PHC_PREFIX = `$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(phc: string, password: string): Promise<boolean>;
  /** True when `phc` was made with other parameters than the current ones. */
  needsRehash(phc: string): boolean;
  /** Spends the same work as a verification, for unknown accounts (no user enumeration by timing). */
  burn(password: string): Promise<void>;
  /** Hash operations running or queued now. */
  pending(): number;
  /** Every slot busy and the queue full: a hash asked for now would be refused (503). */
  saturated(): boolean;
  /** Stops the hashing threads (they never keep the process alive, but tests build many apps). */
  close(): Promise<void>;
}

/**
 * How many hash operations may wait for a slot. Beyond it a sign-in, sign-up or reset is answered at
 * once with 503 and Retry-After (nothing counted against the account: the login guard gives the
 * attempt back) instead of joining a queue that only grows: at about 40 verifications per second per
 * slot, 64 waiting is under a second of work.
 */
export const MAX_QUEUED_HASHES = 64;

/** The refusal when no hash can be queued: a sign-in form post refused early says the same. */
export const hashingSaturated = () => unavailable('Too many sign-ins are being checked right now; try again in a moment.');

export function createPasswordHasher(options: { concurrency?: number; maxQueued?: number; trace?: Trace } = {}): PasswordHasher {
  const traced: Trace = options.trace ?? ((_name, _options, work) => work());
  const limit = Math.max(1, options.concurrency ?? 2);
  const maxQueued = Math.max(0, options.maxQueued ?? MAX_QUEUED_HASHES);
  let running = 0;
  const queue: (() => void)[] = [];
  const withSlot = async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= limit) {
      if (queue.length >= maxQueued) throw hashingSaturated();
      await new Promise<void>((resolve) => queue.push(resolve));
    } else running += 1;
    try {
      return await work();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running -= 1;
    }
  };
  const threads = createHashThreads();
  // A real hash of a random password, verified against when the account does not exist; made once,
  // when first needed.
  let decoy: Promise<string> | undefined;

  // Spans (when tracing is on) cover the wait for a slot too: a queue shows as a long span. The
  // decoy verification is a `password.verify` like any other, so a trace does not tell which
  // accounts exist; no span carries the password or the hash.
  return {
    hash: (password) => traced('password.hash', {}, () => withSlot(() => threads.hash(password))),
    verify: (phc, password) => traced('password.verify', {}, () => withSlot(() => threads.verify(phc, password))),
    needsRehash: (phc) => !phc.startsWith(PHC_PREFIX),
    burn: (password) =>
      traced('password.verify', {}, async () => {
        decoy ??= threads.hash(crypto.randomUUID());
        const phc = await decoy;
        await withSlot(() => threads.verify(phc, password));
      }),
    close: () => threads.close(),
    pending: () => running + queue.length,
    saturated: () => running >= limit && queue.length >= maxQueued,
  };
}
