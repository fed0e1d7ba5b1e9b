/**
 * Work that must not delay an answer (issuing a mailed token and sending the mail): whether it
 * happens depends on whether an email is registered, so doing it while the client waits would tell
 * the client (docs/security.md, no enumeration by timing). Each task runs on its own; a failure goes to
 * `onError` (logged), never to the request that scheduled it. `idle()` waits for everything
 * scheduled so far (shutdown drains it; tests read the outbox after it).
 */
export type Task = () => Promise<void>;

export interface BackgroundTasks {
  run(name: string, task: Task): void;
  idle(): Promise<void>;
  /** Tasks running now. */
  pending(): number;
}

/**
 * How long a task waits before it starts: 10 to 40 ms, at random. Starting at once (after the current
 * I/O turn) wrote the answer first, but the task's first CPU burst (the token's insert being built,
 * the mail rendered) then ran while the client was still reading that answer: on a busy machine the
 * two compete for a core, and a reset requested for a registered address measured about 1.5 ms
 * slower than one for an unknown address (test/flows/timing.test.ts, PostgreSQL). Later and at a
 * random moment, the work falls on no particular answer.
 */
const startDelayMs = () => 10 + Math.random() * 30;

/** Calls `start` after the delay. Referenced timer: a CLI command waiting in idle() for its mail must not exit before it. */
const afterDelay = (start: () => void) => void setTimeout(start, startDelayMs());

export function createBackgroundTasks(onError: (name: string, err: unknown) => void, options: { schedule?: (start: () => void) => void } = {}): BackgroundTasks {
  const running = new Set<Promise<void>>();
  const schedule = options.schedule ?? afterDelay;
  return {
    run(name, task) {
      const p: Promise<void> = new Promise<void>((resolve) => schedule(resolve))
        .then(task)
        .catch((err: unknown) => onError(name, err))
        .finally(() => running.delete(p));
      running.add(p);
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    pending: () => running.size,
  };
}
