const ignore = () => {};

/**
 * Runs `work(key)` for every caller, but never twice at once for one key: callers that arrive while a
 * run for their key is under way share the next run, which starts when that one has settled. So each
 * caller's run starts after its call (it sees what was written before it asked), and a burst of N
 * callers costs at most two runs instead of N side by side.
 */
export function coalesce(work: (key: string) => Promise<void>): (key: string) => Promise<void> {
  const state = new Map<string, { running: Promise<void>; queued?: Promise<void> }>();

  const begin = (key: string): Promise<void> => {
    const running = work(key);
    const slot = state.get(key);
    if (slot) slot.running = running;
    else state.set(key, { running });
    void running.then(ignore, ignore).then(() => {
      const now = state.get(key);
      if (now?.running === running && !now.queued) state.delete(key);
    });
    return running;
  };

  return (key) => {
    const slot = state.get(key);
    if (!slot) return begin(key);
    slot.queued ??= slot.running.then(ignore, ignore).then(() => {
      slot.queued = undefined;
      return begin(key);
    });
    return slot.queued;
  };
}
