import { spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * The README's shell blocks, as a reader copies them: in order, into one shell, so a variable set in
 * one block is there in the next. A block preceded by `<!-- readme-test: not run: REASON -->` is not
 * run (it needs something this machine has not: a Docker engine, your mail server); a block that is
 * only `npm ci && npm start` is "the server is running", which the test provides.
 */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  notRun?: string;
  startsServer: boolean;
}

const NOT_RUN = /^<!--\s*readme-test:\s*not run:\s*(.+?)\s*-->$/;

export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const fence = /^```(\S*)/.exec(lines[i]!);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !lines[i]!.startsWith('```'); i += 1) body.push(lines[i]!);
    if (fence[1] !== 'sh') continue;
    const notRun = NOT_RUN.exec(lines[start - 1]?.trim() ?? '')?.[1];
    const commands = logicalLines(body.join('\n')).filter((l) => !/^\s*(#|$)/.test(l));
    blocks.push({
      line: start + 1,
      code: body.join('\n'),
      ...(notRun ? { notRun } : {}),
      startsServer: commands.length === 1 && /^npm ci && npm start(\s+#.*)?$/.test(commands[0]!.trim()),
    });
  }
  return blocks;
}

/** Lines with their `\`-continuations joined. */
export function logicalLines(code: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of code.split('\n')) {
    if (line.endsWith('\\')) pending += `${line.slice(0, -1)} `;
    else {
      out.push(pending + line);
      pending = '';
    }
  }
  if (pending) out.push(pending);
  return out;
}

/**
 * What a block says it does, from its comments: a line `# {…json…}` is a document the block prints
 * (its keys, and its values without digits or "…", must be in some document the block printed); a
 * command run with `curl -i` or `-w '%{http_code}'` and a trailing `# NNN` answers that status.
 */
export interface Expectation {
  kind: 'json' | 'status';
  text: string;
}

export function expectations(code: string): Expectation[] {
  const out: Expectation[] = [];
  for (const line of logicalLines(code)) {
    const doc = /^\s*#\s*(\{.*\})\s*$/.exec(line);
    if (doc && isJson(doc[1]!)) out.push({ kind: 'json', text: doc[1]! });
    const status = /\s#\s+(\d{3})\b/.exec(line);
    if (status && /^\s*curl\b/.test(line) && (/\scurl\s.*\s-i\s|^\s*curl -i\s/.test(` ${line}`) || line.includes("%{http_code}"))) {
      out.push({ kind: 'status', text: status[1]! });
    }
  }
  return out;
}

/** The expectations the output does not meet, each as a sentence. */
export function unmet(expected: readonly Expectation[], output: string): string[] {
  const docs = jsonDocuments(output);
  const lines = output.split('\n').map((l) => l.trim());
  const problems: string[] = [];
  for (const e of expected) {
    if (e.kind === 'status') {
      // `-w '%{http_code}'` ends a line (after a body `curl -s` printed without a newline).
      if (!lines.some((l) => new RegExp(`(^|\\D)${e.text}$`).test(l) || new RegExp(`^HTTP/[\\d.]+ ${e.text}\\b`).test(l))) problems.push(`no answer with status ${e.text}`);
      continue;
    }
    const want = JSON.parse(e.text) as Record<string, unknown>;
    if (!docs.some((d) => matches(want, d))) problems.push(`nothing printed like ${e.text}`);
  }
  return problems;
}

function matches(want: Record<string, unknown>, got: unknown): boolean {
  if (typeof got !== 'object' || got === null || Array.isArray(got)) return false;
  const have = got as Record<string, unknown>;
  return Object.entries(want).every(([key, value]) => {
    if (!(key in have)) return false;
    const comparable = value === null || typeof value === 'boolean' || (typeof value === 'string' && !/[\d…]/.test(value));
    return !comparable || have[key] === value;
  });
}

/**
 * Every JSON object printed at the start of a line: on one line, pretty-printed over several, or
 * followed by more output on the same line (`curl -s` prints no newline after a body).
 */
export function jsonDocuments(output: string): unknown[] {
  const docs: unknown[] = [];
  for (const match of output.matchAll(/^\{/gm)) {
    const end = closingBrace(output, match.index);
    if (end < 0) continue;
    const text = output.slice(match.index, end + 1);
    if (isJson(text)) docs.push(JSON.parse(text));
  }
  return docs;
}

/** The index of the brace that closes the object opened at `start`, or -1. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export interface BlockResult {
  block: ShellBlock;
  output: string;
  /** The block ran to its end with every command succeeding. */
  completed: boolean;
}

/**
 * Runs the blocks in one bash (`set -euo pipefail`: the first failing command stops everything), in
 * `cwd`, in its own process group, which is killed at the end with whatever the blocks left running
 * in the background. `beforeBlock` runs before each block (the test starts the server there).
 */
export async function runBlocks(
  blocks: readonly ShellBlock[],
  options: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<{ results: BlockResult[]; exitCode: number | string; tail: string }> {
  const marker = (n: number) => `@@readme-block-${n}@@`;
  const script = [
    'set -euo pipefail',
    ...blocks.flatMap((b, n) => [`printf '\\n%s\\n' '${marker(n)}'`, b.code]),
    `printf '\\n%s\\n' '${marker(blocks.length)}'`,
  ].join('\n');
  const child = spawn('bash', ['-c', script], { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), options.timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is already gone
  }
  const results: BlockResult[] = blocks.map((block, n) => {
    const from = output.indexOf(`${marker(n)}\n`);
    const to = output.indexOf(`${marker(n + 1)}\n`);
    return {
      block,
      output: from < 0 ? '' : output.slice(from + marker(n).length + 1, to < 0 ? undefined : to),
      completed: from >= 0 && to >= 0,
    };
  });
  return { results, exitCode: code ?? signal ?? -1, tail: output.slice(-4000) };
}
