import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';
import { tempDir } from './temp-dir.ts';

/**
 * The stand-alone verifier package (packages/verifier, `@gatehouse/verifier`) the way a resource
 * server gets it: `npm pack`, then `npm install` of the tarball into a project of its own outside the
 * repository, so nothing can resolve from Gatehouse's node_modules.
 */

export const VERIFIER_PACKAGE_DIR = join(packageRoot(), 'packages', 'verifier');
export const SHOP_API_DIR = join(packageRoot(), 'examples', 'shop-api');

/** How long one npm command may take before the test calls it a hang (not a speed requirement). */
const NPM_DEADLINE_MS = 120_000;

/**
 * Runs the npm on PATH to completion. The variables an enclosing `npm test` sets about Gatehouse's own
 * project (its package, the script, its folder as local prefix) are left out, so they cannot steer this
 * npm toward it; npm configuration (registry, cache, certificates) is kept.
 */
export async function npm(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_(package_|lifecycle_|config_local_prefix$)/i.test(name)));
  const child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), NPM_DEADLINE_MS);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code: code ?? -1, stdout, stderr };
}

async function npmOrThrow(args: string[], cwd: string): Promise<string> {
  const r = await npm(args, cwd);
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** `npm pack` of packages/verifier into `dest` (built by `npm run build`); the tarball's path. */
export async function packVerifier(dest: string): Promise<string> {
  const [packed] = JSON.parse(await npmOrThrow(['pack', '--json', '--pack-destination', dest], VERIFIER_PACKAGE_DIR)) as [{ filename: string }];
  return join(dest, packed.filename);
}

/** `npm pack --dry-run`: the paths the package would publish. */
export async function verifierPackageFiles(): Promise<string[]> {
  const [packed] = JSON.parse(await npmOrThrow(['pack', '--dry-run', '--json'], VERIFIER_PACKAGE_DIR)) as [{ files: { path: string }[] }];
  return packed.files.map((f) => f.path).sort();
}

/**
 * `npm install` in `dir`, which holds a package.json: dependencies from npm's cache, or the registry
 * for what the cache lacks.
 */
export async function npmInstall(dir: string): Promise<void> {
  await npmOrThrow(['install', '--prefer-offline', '--no-audit', '--no-fund'], dir);
}

/** Every package installed under `dir`/node_modules, nested ones included, by name. */
export async function installedPackages(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  const walk = async (modules: string) => {
    let entries;
    try {
      entries = await readdir(modules, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@') && entry.isDirectory()) {
        for (const scoped of await readdir(join(modules, entry.name))) {
          found.add(`${entry.name}/${scoped}`);
          await walk(join(modules, entry.name, scoped, 'node_modules'));
        }
      } else {
        found.add(entry.name);
        await walk(join(modules, entry.name, 'node_modules'));
      }
    }
  };
  await walk(join(dir, 'node_modules'));
  return found;
}

/** A fresh project depending on the verifier's tarball only. */
export async function installVerifierAlone(t: Test): Promise<{ dir: string; tarball: string }> {
  const dir = await tempDir(t, 'verifier-alone-');
  const tarball = await packVerifier(await tempDir(t, 'verifier-pack-'));
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'plain-service', version: '1.0.0', private: true, type: 'module', dependencies: { '@gatehouse/verifier': `file:${tarball}` } }, null, 2),
  );
  await npmInstall(dir);
  return { dir, tarball };
}

/**
 * examples/shop-api as a resource server deploys it: its files copied into a folder of their own, its
 * package.json's `@gatehouse/verifier` pointed at the packed tarball (the one change), `npm install`.
 */
export async function installShopApi(t: Test): Promise<{ dir: string; serverJs: string; tarball: string }> {
  const dir = await tempDir(t, 'shop-api-');
  const tarball = await packVerifier(await tempDir(t, 'verifier-pack-'));
  for (const file of ['server.js', '.npmrc']) await copyFile(join(SHOP_API_DIR, file), join(dir, file));
  const manifest = JSON.parse(await readFile(join(SHOP_API_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  if (!manifest.dependencies['@gatehouse/verifier']) throw new Error('examples/shop-api/package.json does not depend on @gatehouse/verifier');
  manifest.dependencies['@gatehouse/verifier'] = `file:${tarball}`;
  await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  await npmInstall(dir);
  return { dir, serverJs: join(dir, 'server.js'), tarball };
}
