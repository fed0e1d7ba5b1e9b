/**
 * The Node.js releases Gatehouse runs on. oidc-provider supports only Node.js 22 LTS and later (on
 * older ones it prints a plain-text warning into the JSON log), and so do some of its dependencies.
 * Keep in step with `engines` in package.json.
 */
export const MINIMUM_NODE = '22.12.0';

/** Why this Node.js release cannot run Gatehouse, or undefined when it can. */
export function unsupportedRuntime(version: string): string | undefined {
  const have = parse(version);
  const need = parse(MINIMUM_NODE)!;
  if (have && compare(have, need) >= 0) return undefined;
  return (
    `Node.js ${MINIMUM_NODE.replace(/\.0$/, '')} or newer is required, this is ${version}. ` +
    'On Linux x64 `npm ci` installs Node.js 22 into node_modules/.bin, which `npm start` and `npx gatehouse` use; ' +
    'elsewhere install Node.js 22 LTS'
  );
}

/** Stops the process with a one-line message when this Node.js is too old (before anything is opened). */
export function exitOnUnsupportedRuntime(): void {
  const problem = unsupportedRuntime(process.versions.node);
  if (problem === undefined) return;
  process.stderr.write(`gatehouse: ${problem}\n`);
  process.exit(1);
}

function parse(version: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * V8 options every Gatehouse server process runs with: `npm start`, the Docker image's command and
 * the WORKERS processes the primary forks all pass them (test/unit/config/runtime.test.ts keeps them
 * in step). A 4 MB young-generation semi-space instead of V8's default (up to 16 MB on 64-bit): a
 * request's garbage is short-lived, and the smaller space measured no CPU difference per token beyond
 * the noise, and about 10 MB less resident memory idle, 30 MB after load (docs/architecture.md, "Memory").
 */
export const V8_OPTIONS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * The command-line options for a forked worker: this process's own, plus V8_OPTIONS that the operator
 * did not set themselves (on the command line or in NODE_OPTIONS — theirs win).
 */
export function withV8Options(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  const name = (option: string) => option.split('=')[0]!.replace(/_/g, '-');
  const missing = V8_OPTIONS.filter((option) => !given.some((g) => name(g) === name(option)));
  return [...execArgv, ...missing];
}
