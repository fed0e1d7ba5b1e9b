import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join, relative, sep } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitForStatus } from '../helpers/processes.ts';
import { expectations, runBlocks, shellBlocks, unmet } from './readme-blocks.ts';

// The README followed word for word: its shell blocks run in order, in one bash, in a copy of the
// repository, against `npm start` on the port it names (3000; the example service takes 4000). Each
// block must run to its end (`set -euo pipefail`) and print what its comments say it prints.
t.setTimeout(15 * 60_000);

const root = packageRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = shellBlocks(readme);

t.test('every shell block is run, or says why it cannot be', async (t) => {
  t.ok(blocks.length >= 15, `${blocks.length} shell blocks`);
  const notRun = blocks.filter((b) => b.notRun);
  t.same(
    notRun.map((b) => b.notRun).filter((reason) => !/^(it is the test suite|needs (a Docker engine|your )|the paths of a production host)/.test(reason!)),
    [],
    'a block is left out only for a Docker engine, a server of yours, a production host, or the suite itself',
  );
  t.ok(notRun.length <= 8, `${notRun.length} blocks are not run`);
  t.ok(blocks.filter((b) => b.startsServer).length >= 1, 'the quick start starts the server');
});

t.test('the README runs on a fresh copy and does what it says', async (t) => {
  for (const port of [3000, 4000]) {
    t.notOk(await listening(port), `port ${port} is free (the README names it; stop what uses it)`);
  }
  const work = join(await tempDir(t, 'gatehouse-readme-'), 'gatehouse');
  const home = await tempDir(t, 'gatehouse-readme-home-');
  copyRepository(root, work);
  const before = new Set(files(work));

  // A reader's shell: no node_modules/.bin in PATH (npm start and npx find it themselves), their HOME.
  const env: Record<string, string> = {
    PATH: (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes(`node_modules${sep}.bin`)).join(delimiter),
    HOME: home,
    LANG: 'C.UTF-8',
    // npm's download cache, so the example service's install does not fetch everything again.
    npm_config_cache: npmCache(),
    npm_config_update_notifier: 'false',
  };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;

  // "npm ci && npm start": the server the rest of the README talks to.
  const server = spawn('npm', ['start'], { cwd: work, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let serverLog = '';
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  const serverExited = once(server, 'exit');
  t.teardown(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      process.kill(-server.pid!, 'SIGKILL');
      await serverExited;
    }
  });
  await waitForStatus('http://127.0.0.1:3000/readyz', 200);

  const runnable = blocks
    .filter((b) => !b.notRun)
    // The server is already running, as the block promises.
    .map((b) => (b.startsServer ? { ...b, code: 'curl -sf -o /dev/null localhost:3000/readyz' } : b));
  const { results, exitCode, tail } = await runBlocks(runnable, { cwd: work, env, timeoutMs: 12 * 60_000 });

  for (const r of results) {
    const name = `README.md:${r.block.line}`;
    if (!r.completed) {
      t.fail(`${name} ran to its end`, { block: r.block.code, output: r.output.slice(-3000) });
      break;
    }
    t.same(unmet(expectations(r.block.code), r.output), [], `${name} printed what it says`, { output: r.output.slice(-3000) });
  }
  t.equal(exitCode, 0, 'the shell ended well', { tail });

  // Ctrl-C in the reader's terminal: the whole foreground group gets the signal.
  process.kill(-server.pid!, 'SIGINT');
  await serverExited;
  t.match(serverLog, /"msg":"stopped"/, 'the server drained and stopped');
  const notJson = serverLog.split('\n').filter((l) => l.startsWith('{') === false && l.trim() !== '' && !l.startsWith('>'));
  t.same(notJson, [], 'the server wrote only JSON log lines (npm prints its "> gatehouse start" banner)');
  t.notMatch(serverLog, /Unsupported runtime/, 'no runtime warning');

  const added = files(work).filter((f) => !before.has(f) && !/^(data|keys|examples\/shop-api\/node_modules)\//.test(f));
  t.same(added, [], 'nothing written into the repository folder but the git-ignored data/ and keys/ (no secrets)');
});

/** The repository as a clone has it after `npm ci`: sources and dist/, node_modules linked. */
function copyRepository(from: string, to: string): void {
  const skip = new Set(['node_modules', '.git', '.tap', '.ci', 'data', 'coverage', 'test-artifacts']);
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel === '') return true;
      const top = rel.split(sep)[0]!;
      if (skip.has(top)) return false;
      if (top === 'keys') return rel === 'keys' || rel === join('keys', 'README.md');
      return !rel.split(sep).includes('node_modules');
    },
  });
  symlinkSync(join(from, 'node_modules'), join(to, 'node_modules'));
}

function files(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const rel = relative(base, full).split(sep).join('/');
    if (rel === 'node_modules') continue;
    if (statSync(full, { throwIfNoEntry: false })?.isDirectory()) out.push(...files(full, base));
    else out.push(rel);
  }
  return out;
}

function npmCache(): string {
  return spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
