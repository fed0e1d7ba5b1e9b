import { rmSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateKeyring } from '../../src/keys/load-keyring.ts';

let template: Promise<string> | undefined;

/** A ready keyring copied into `dir` (RSA generation takes up to a second; do it once per process). */
export async function seedKeyring(dir: string): Promise<void> {
  template ??= (async () => {
    const t = await mkdtemp(join(tmpdir(), 'gatehouse-keys-template-'));
    process.once('exit', () => rmSync(t, { recursive: true, force: true }));
    // Backdated a day, so tests whose clock starts "now" or later all see the keys active.
    await loadOrCreateKeyring(t, { now: () => new Date(Date.now() - 86_400_000) });
    return t;
  })();
  await cp(await template, dir, { recursive: true, preserveTimestamps: true, mode: 0 });
}
