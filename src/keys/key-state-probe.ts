import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import { MANIFEST, readKeyring } from './keyring-files.js';
import { keyState, type KeyEntry } from './schedule.js';

export interface KeyStateProbeOptions {
  dir: string;
  clock: Clock;
  /** The schedule the instance runs on (its last good keyring). */
  initial: readonly KeyEntry[];
  /** The manifest on disk changed (a `keys revoke` from the CLI, say): reload the key set now. */
  onChange(): Promise<void>;
}

/**
 * Answers "may a token signed by `kid` still be accepted?" from the manifest on disk, read again on
 * every question. `gatehouse keys revoke` runs in another process, and the keyring watcher only
 * notices it at its next reload; a revoked key's tokens must not pass our own checks (introspection,
 * the admin API) in the meantime. The manifest is one small file, so each question costs one read;
 * it is parsed (and validated with its key files) only when its text changed. A manifest that cannot
 * be read or is broken leaves the last known schedule in force: a revocation is an atomic rename,
 * never a broken file.
 */
export function createKeyStateProbe(options: KeyStateProbeOptions) {
  const path = join(options.dir, MANIFEST);
  let entries = options.initial;
  let lastText: string | undefined;

  const current = async (): Promise<readonly KeyEntry[]> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return entries;
    }
    if (text === lastText) return entries;
    try {
      const ring = await readKeyring(options.dir);
      if (!ring) return entries;
      const changed = JSON.stringify(ring.manifest.keys) !== JSON.stringify(entries);
      entries = ring.manifest.keys;
      lastText = text;
      // Awaited: once this answer leaves, the instance no longer signs with a key it calls revoked.
      if (changed) await options.onChange();
    } catch {
      // Broken on disk: the watcher reports it; the last known schedule stays in force.
    }
    return entries;
  };

  return {
    /** False when `kid` is removed (revoked, or past its removal date) or no longer in the manifest. */
    async keyUsable(kid: string | undefined): Promise<boolean> {
      if (!kid) return false;
      const entry = (await current()).find((e) => e.kid === kid);
      return entry !== undefined && keyState(entry, options.clock.now()) !== 'removed';
    },
  };
}

export type KeyStateProbe = ReturnType<typeof createKeyStateProbe>;
