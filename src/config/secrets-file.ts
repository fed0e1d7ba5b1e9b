import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { randomToken } from '../lib/random.js';
import { freeze } from './load-config.js';
import type { Config } from './schema.js';

const FILE = 'secrets.json';

/**
 * Outside production, SECRETS may be left unset: a secret is generated once into the data folder
 * (mode 0600) and reused on every start, so restarts keep sessions. Production must set SECRETS
 * (loadConfig refuses otherwise).
 */
export async function resolveSecrets(config: Readonly<Config>): Promise<Readonly<Config>> {
  if (config.secrets) return config;
  const path = join(config.dataDir, FILE);
  const secrets = (await readSecrets(path)) ?? (await createSecrets(config.dataDir, path));
  return freeze({ ...config, secrets });
}

async function readSecrets(path: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = safeParse(text) as { secrets?: unknown } | undefined;
  if (Array.isArray(parsed?.secrets) && parsed.secrets.every((s) => typeof s === 'string' && s.length >= 32)) {
    return parsed.secrets as string[];
  }
  throw new ConfigError([{ variable: 'SECRETS', message: `${path} is not a valid secrets file; delete it to generate a new one` }]);
}

/** Written to a temporary file and linked into place, so two processes starting at once agree on one. */
async function createSecrets(dataDir: string, path: string): Promise<string[]> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomToken(6)}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ secrets: [randomToken(32)] }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  return (await readSecrets(path)) as string[];
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
