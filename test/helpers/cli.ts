import { Readable } from 'node:stream';
import { runCli } from '../../src/cli/run-cli.ts';

/** Runs the CLI in-process, as `gatehouse <argv>` with this environment and standard input. */
export async function cli(argv: string[], env: Record<string, string>, cwd: string, stdin = '') {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    cwd,
    stdin: Readable.from([stdin]),
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
