import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/lib/clock.ts';
import { loadOrCreateKeyring } from '../../src/keys/load-keyring.ts';

let template: Promise<string> | undefined;

/** A ready keyring copied into `dir` (RSA generation takes up to a second; do it once per process). */
export async function seedKeyring(dir: string): Promise<void> {
  template ??= (async () => {
    const t = await mkdtemp(join(tmpdir(), 'gatehouse-keys-template-'));
    await loadOrCreateKeyring(t, systemClock);
    return t;
  })();
  await cp(await template, dir, { recursive: true, preserveTimestamps: true, mode: 0 });
}
