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

export function createBackgroundTasks(onError: (name: string, err: unknown) => void): BackgroundTasks {
  const running = new Set<Promise<void>>();
  return {
    run(name, task) {
      // setImmediate: start after the current I/O turn, so the answer is written first.
      const p: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
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
