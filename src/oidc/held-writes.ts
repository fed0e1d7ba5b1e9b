import { AsyncLocalStorage } from 'node:async_hooks';
import type { OidcStore } from './oidc-store.js';
import type { GrantWrites } from './refresh-rotation-store.js';

type Write = (store: OidcStore) => Promise<void>;

/**
 * The database writes an engine step asked for, held back instead of done, so they can be committed
 * together afterwards. Reads still go to the database (the engine never reads back what it wrote in
 * one grant).
 */
export interface WriteHold {
  /** The engine consumed the code or token it was given (it did not refuse before that step). */
  readonly consumed: boolean;
  consume(model: string, id: string): void;
  write(write: Write): void;
  /** The held writes as one commit: the conditional consume first, then the rest in order. */
  writes(): GrantWrites;
}

const current = new AsyncLocalStorage<WriteHold>();

/** The hold of the engine step running now, if its writes are being held. */
export const activeHold = (): WriteHold | undefined => current.getStore();

export function createWriteHold(): WriteHold {
  const consumes: { model: string; id: string }[] = [];
  const rest: Write[] = [];
  return {
    get consumed() {
      return consumes.length > 0;
    },
    consume: (model, id) => void consumes.push({ model, id }),
    write: (write) => void rest.push(write),
    writes: () => async (store) => {
      for (const { model, id } of consumes) if ((await store.consume(model, id)).status !== 'consumed') return false;
      for (const write of rest) await write(store);
      return true;
    },
  };
}

/** Runs `work` with every adapter write it makes going into `hold`. */
export const holdingWrites = <T>(hold: WriteHold, work: () => Promise<T>): Promise<T> => current.run(hold, work);
