import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { AppError, UsageError } from '../errors.js';
import { createLogger } from '../observability/logger.js';
import type { Command, CommandContext } from './command.js';
import { COMMANDS } from './commands/index.js';

export interface CliIO {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Exit codes (docs/architecture.md, The CLI): 0 success, 1 usage error, 2 runtime error. */
export type ExitCode = 0 | 1 | 2;

/**
 * `gatehouse <noun> <verb> [options]`. With `--json` exactly one JSON document goes to stdout, also
 * on failure (`{ error, error_description }`); the one-line error message always goes to stderr.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  const json = argv.includes('--json');
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = findCommand(words);

  if (!command) {
    if (wantsHelp || words.length === 0) {
      io.stdout(json ? `${JSON.stringify(helpData())}\n` : `${helpText()}\n`);
      return wantsHelp ? 0 : 1;
    }
    return fail(io, json, new UsageError(`unknown command "${words.join(' ')}"; run gatehouse --help`));
  }
  if (wantsHelp) {
    io.stdout(json ? `${JSON.stringify(commandHelpData(command))}\n` : `${commandHelp(command)}\n`);
    return 0;
  }

  let parsed;
  try {
    parsed = parseArgs({
      args: withoutPath(argv, command.path),
      options: {
        json: { type: 'boolean' },
        ...Object.fromEntries(
          Object.entries(command.options ?? {}).map(([name, o]) => [name, { type: o.type, multiple: o.multiple ?? false }]),
        ),
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return fail(io, json, new UsageError(`${(err as Error).message.split('\n')[0]}; see gatehouse ${command.path.join(' ')} --help`));
  }

  let config: Readonly<Config> | undefined;
  const ctx: CommandContext = {
    positionals: parsed.positionals,
    options: parsed.values as CommandContext['options'],
    json,
    env: io.env,
    cwd: io.cwd,
    stdin: io.stdin,
    // Configuration is read on demand, so `--help` works with a broken environment.
    config: async () => (config ??= loadConfig(io.env, io.cwd)),
    // Operational logs go to stderr, keeping stdout for the command's result.
    logger: createLogger('warn', { write: (line: string) => io.stderr(line) }),
  };

  try {
    const result = await command.run(ctx);
    io.stdout(json ? `${JSON.stringify(result.data, null, 2)}\n` : `${result.text}\n`);
    return 0;
  } catch (err) {
    return fail(io, json, err);
  }
}

function fail(io: CliIO, json: boolean, err: unknown): ExitCode {
  // Input the command rejected (a malformed URI, a weak password) is a usage error too.
  const usage = err instanceof UsageError || (err instanceof AppError && err.code === 'invalid_request');
  const message = describeFailure(err);
  if (json) {
    const code = err instanceof AppError ? err.code : 'server_error';
    io.stdout(`${JSON.stringify({ error: code, error_description: message })}\n`);
  }
  io.stderr(`gatehouse: ${message.replaceAll('\n', '; ').replace(/:;\s+/, ': ')}\n`);
  return usage ? 1 : 2;
}

function describeFailure(err: unknown): string {
  // The operator, unlike a client, is told why the database failed.
  if (err instanceof AppError && err.code === 'temporarily_unavailable' && err.cause !== undefined) return `${err.message} (${firstLine(err.cause)})`;
  if (err instanceof AppError && err.expose) return err.message;
  return firstLine(err);
}

/** Runtime failures (database down, file unreadable) are worth their first line, without URLs. */
function firstLine(err: unknown): string {
  const e = err as { message?: string };
  const lines = (e?.message ?? String(err)).split('\n').map((l) => l.trim()).filter(Boolean);
  // Prisma's messages open with "Invalid `prisma.x()` invocation:" and end with what went wrong.
  const line = (lines[0]?.startsWith('Invalid `prisma') ? lines.at(-1) : lines[0]) ?? 'unknown error';
  return line.replace(/postgres(ql)?:\/\/\S+/gi, '[database url]');
}

/** The arguments after removing the command's own words (options may come before or after them). */
function withoutPath(argv: readonly string[], path: readonly string[]): string[] {
  const rest: string[] = [];
  let matched = 0;
  for (const arg of argv) {
    if (matched < path.length && arg === path[matched]) matched += 1;
    else rest.push(arg);
  }
  return rest;
}

function findCommand(words: readonly string[]): Command | undefined {
  return [...COMMANDS]
    .sort((a, b) => b.path.length - a.path.length)
    .find((c) => c.path.every((part, i) => words[i] === part));
}

function helpData() {
  return { usage: 'gatehouse <noun> <verb> [options] [--json]', commands: COMMANDS.map(commandHelpData) };
}

function commandHelpData(c: Command) {
  return { command: c.path.join(' '), args: c.args ?? null, summary: c.summary, options: c.options ?? {} };
}

function helpText(): string {
  const rows = COMMANDS.map((c) => [`${c.path.join(' ')}${c.args ? ` ${c.args}` : ''}`, c.summary] as const);
  const width = Math.max(...rows.map(([l]) => l.length));
  return [
    'Usage: gatehouse <noun> <verb> [options] [--json]',
    '',
    'Commands:',
    ...rows.map(([left, summary]) => `  ${left.padEnd(width)}  ${summary}`),
    '',
    'Every command reads the same environment as the server (see `gatehouse config check`).',
    '--json prints one JSON document. Exit codes: 0 ok, 1 usage error, 2 runtime error.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const options = Object.entries(c.options ?? {}).map(
    ([name, o]) => `  --${name}${o.type === 'string' ? ' <value>' : ''}${o.multiple ? ' (repeatable)' : ''}  ${o.description}`,
  );
  return [
    `Usage: gatehouse ${c.path.join(' ')}${c.args ? ` ${c.args}` : ''} [options] [--json]`,
    '',
    c.summary,
    ...(options.length > 0 ? ['', 'Options:', ...options] : []),
  ].join('\n');
}
