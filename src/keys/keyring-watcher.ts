import type { Clock } from '../lib/clock.js';
import { KeyringError, readKeyring, type Keyring } from './keyring-files.js';
import { keyState, nextChangeAt } from './schedule.js';
import { assertUsableKeyring } from './usable-keyring.js';

export interface KeyringWatcherOptions {
  dir: string;
  clock: Clock;
  /** How often the folder is re-read (KEY_RELOAD_INTERVAL). */
  intervalMs: number;
  /** The keyring the instance started with. */
  initial: Keyring;
  /** Called with a changed keyring (new file contents, or a key changed state by the clock). */
  onChange(keyring: Keyring): Promise<void> | void;
  /** A bad keyring on disk: the last good one stays in use. Called once per distinct problem. */
  onError(error: Error): void;
  /** Work to do on each tick before reading (automatic rotation). */
  beforeRead?(): Promise<void>;
}

/** What an instance must react to: the manifest's contents and every key's state right now. */
function signature(keyring: Keyring, now: Date): string {
  return JSON.stringify(keyring.manifest.keys.map((e) => [e.kid, e.published_at, e.activates_at, e.retires_at, e.removed_at, keyState(e, now)]));
}

/**
 * Re-reads the keyring on an interval, on demand (SIGHUP) and exactly when a scheduled state change
 * falls due, and reports changes. Every instance reading the same folder computes the same states
 * from the same dates, so all of them switch signing keys together.
 */
export function watchKeyring(options: KeyringWatcherOptions) {
  let applied = signature(options.initial, options.clock.now());
  let current = options.initial;
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;

  const schedule = () => {
    if (stopped) return;
    const now = options.clock.now();
    const next = nextChangeAt(current.manifest.keys, now);
    const untilChange = next ? Math.max(10, next.getTime() - now.getTime() + 10) : Number.POSITIVE_INFINITY;
    timer = setTimeout(() => void tick(), Math.min(options.intervalMs, untilChange));
    timer.unref();
  };

  const check = async () => {
    try {
      await options.beforeRead?.();
      const keyring = await readKeyring(options.dir);
      if (!keyring) throw new KeyringError(options.dir, 'the keyring manifest has disappeared');
      const now = options.clock.now();
      assertUsableKeyring(options.dir, keyring, now);
      lastError = undefined;
      const sig = signature(keyring, now);
      if (sig !== applied) {
        await options.onChange(keyring);
        applied = sig;
        current = keyring;
      }
    } catch (err) {
      const message = (err as Error).message;
      if (message !== lastError) {
        lastError = message;
        options.onError(err as Error);
      }
    }
  };

  const tick = async () => {
    clearTimeout(timer);
    // A read already under way may have started before the change this tick is for: read again after it.
    await running;
    running ??= check().finally(() => {
      running = undefined;
    });
    await running;
    schedule();
  };

  schedule();
  return {
    /** Re-read now (SIGHUP). */
    reload: () => tick(),
    current: () => current,
    /** Why the keyring on disk was last refused, while it still is (undefined once a read succeeds). */
    problem: () => lastError,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export type KeyringWatcher = ReturnType<typeof watchKeyring>;
