import { Command as Parser, CommanderError, Help, Option, type ErrorOptions } from 'commander';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { AppError, UsageError } from '../errors.js';
import { createLogger } from '../observability/logger.js';
import type { Command, CommandContext, OptionSpec } from './command.js';
import { COMMANDS, NOUNS } from './commands/index.js';

export interface CliIO {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Exit codes (docs/architecture.md, The CLI): 0 success, 1 usage error, 2 runtime error. */
export type ExitCode = 0 | 1 | 2;

const USAGE = '<noun> <verb> [options] [--json]';

/**
 * `gatehouse <noun> <verb> [options]`, parsed by commander. With `--json` exactly one JSON document goes
 * to stdout, also on failure (`{ error, error_description }`); the one-line error message always goes
 * to stderr. Commander never writes anything itself: its help is captured and its errors become ours.
 */
export async function runCli(given: readonly string[], io: CliIO): Promise<ExitCode> {
  const argv = operandsLast(given);
  const end = argv.indexOf('--');
  const json = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
  const tree = buildParser();
  let chosen: { command: Command; positionals: string[]; options: CommandContext['options'] } | undefined;
  for (const leaf of tree.leaves) {
    leaf.parser.action(() => {
      chosen = { command: leaf.command, positionals: [...leaf.parser.args], options: leaf.readOptions() };
    });
  }

  try {
    await tree.root.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.help')) {
      // `--help` succeeds; help shown because the verb (or everything) is missing is a usage error.
      const shown = tree.helpShown ?? tree.root;
      io.stdout(json ? `${JSON.stringify(helpData(shown, tree))}\n` : tree.helpText);
      return err.code === 'commander.helpDisplayed' ? 0 : 1;
    }
    return fail(io, json, err);
  }
  if (!chosen) return fail(io, json, new UsageError(`no command given; see gatehouse --help`));

  const { command } = chosen;
  let config: Readonly<Config> | undefined;
  const ctx: CommandContext = {
    positionals: chosen.positionals,
    // The values follow the command's option specs, which `defineCommand` types for the command.
    options: chosen.options,
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
    // A usage error found by the command itself points at the command's help, like the parser's.
    return fail(io, json, err instanceof UsageError ? withHint(err, command.path) : err);
  }
}

/** An option as typed: `--name`, `--name=value`, `-h`. Anything else is an operand. */
const OPTION_SHAPE = /^(--[a-z][a-z0-9-]*(=.*)?|-[a-zA-Z])$/s;

/**
 * Operands that start with "-" are read as operands, not options. An access token's jti is random
 * base64url and one in 64 starts with "-", so `gatehouse tokens revoke "$JTI" --json` must not fail
 * as an unknown option: when an operand has no option's shape (lower-case `--name`, or `-h`) but starts
 * with "-", every operand of the command moves, in order, behind a `--`, which the parser reads as
 * "operands only from here". The word after an option that takes a value is that value (so
 * `--offset -1` stays), and an operator's own `--` is kept as it is.
 */
export function operandsLast(argv: readonly string[]): string[] {
  const words = argv.filter((w) => !w.startsWith('-'));
  const command = COMMANDS.filter((c) => c.path.every((p, i) => words[i] === p)).sort((a, b) => b.path.length - a.path.length)[0];
  if (!command) return [...argv];
  const takesValue = new Set(Object.entries(command.options ?? {}).filter(([, spec]) => spec.type !== 'boolean').map(([name]) => `--${name}`));
  const rest: string[] = [];
  const operands: string[] = [];
  let dashed = false;
  let path = 0;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return [...argv];
    if (OPTION_SHAPE.test(word)) {
      rest.push(word);
      if (takesValue.has(word) && i + 1 < argv.length) rest.push(argv[++i]!);
    } else if (path < command.path.length && word === command.path[path]) {
      rest.push(word);
      path++;
    } else {
      operands.push(word);
      if (word.startsWith('-')) dashed = true;
    }
  }
  return dashed ? [...rest, '--', ...operands] : [...argv];
}

/** `; see gatehouse clients create --help` */
const hint = (path: readonly string[]) => `see gatehouse ${[...path, '--help'].join(' ')}`;

function withHint(err: UsageError, path: readonly string[]): UsageError {
  return err.message.includes('--help') ? err : new UsageError(`${err.message}; ${hint(path)}`);
}

interface Leaf {
  command: Command;
  parser: Parser;
  /** The parsed options under their spec names (`redirect-uri`, not commander's `redirectUri`). */
  readOptions(): CommandContext['options'];
}

interface Tree {
  root: Parser;
  leaves: Leaf[];
  /** The command whose help commander printed, and the text it printed. */
  helpShown: Parser | undefined;
  helpText: string;
  specs: Map<Parser, Command>;
}

/** The words of a parser's command without the program name: `["clients", "create"]`. */
function pathOf(parser: Parser): string[] {
  const words: string[] = [];
  for (let p: Parser | null = parser; p?.parent; p = p.parent) words.unshift(p.name());
  return words;
}

/** Commander reports through `error()`; this turns each report into one sentence of ours. */
class GatehouseParser extends Parser {
  override createCommand(name?: string): Parser {
    return new GatehouseParser(name);
  }

  override error(message: string, options?: ErrorOptions): never {
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
    const suggestion = /\(Did you mean (.+)\?\)/.exec(message)?.[1];
    const maybe = suggestion ? ` (did you mean ${suggestion}?)` : '';
    const path = pathOf(this);
    let text: string;
    switch (options?.code) {
      case 'commander.unknownCommand':
        text = `unknown command "${[...path, ...this.args.filter((a) => !a.startsWith('-'))].join(' ')}"${maybe}`;
        break;
      case 'commander.unknownOption':
        text = `unknown option "${quoted}"${maybe}`;
        break;
      case 'commander.optionMissingArgument':
        text = `option ${quoted.split(/[ ,]/).find((f) => f.startsWith('--')) ?? quoted} needs a value`;
        break;
      case 'commander.missingArgument':
        text = `missing argument <${quoted}>`;
        break;
      case 'commander.excessArguments':
        text = `unexpected argument "${this.args[this.registeredArguments.length] ?? ''}"`;
        break;
      default:
        text = message.replace(/^error: /, '').split('\n')[0]!;
    }
    throw new UsageError(`${text}; ${hint(path)}`);
  }
}

function buildParser(): Tree {
  const repeatable = new Set<Option>();
  const tree: Tree = { root: new GatehouseParser('gatehouse'), leaves: [], helpShown: undefined, helpText: '', specs: new Map() };
  const root = tree.root;
  root
    .usage(USAGE)
    .description('Operate Gatehouse: migrate its database, register applications and APIs, manage accounts, bans and signing keys.')
    .option('--json', 'print exactly one JSON document on stdout (also for errors and help)')
    .helpCommand(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => (tree.helpText += text),
      writeErr: (text) => (tree.helpText += text),
      outputError: () => {},
      getOutHelpWidth: () => 1000,
      getErrHelpWidth: () => 1000,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .configureHelp({
      showGlobalOptions: true,
      sortSubcommands: false,
      optionTerm: (option) => `${option.flags}${repeatable.has(option) ? ' (repeatable)' : ''}`,
      // The program's help lists every command with its words, not just the nouns.
      visibleCommands: (cmd) => (cmd.parent ? Help.prototype.visibleCommands.call(new Help(), cmd) : [...tree.specs.keys()]),
      subcommandTerm: (cmd) => {
        const spec = tree.specs.get(cmd);
        const words = tree.helpShown === root || tree.helpShown === undefined ? pathOf(cmd) : [cmd.name()];
        return [...words, ...(spec?.args ? [spec.args] : []), ...(cmd.options.length > 0 ? ['[options]'] : []), ...(cmd.commands.length > 0 ? ['<verb>'] : [])].join(' ');
      },
    })
    .on('beforeAllHelp', ({ command }: { command: Parser }) => {
      tree.helpShown = command;
    })
    .addHelpText(
      'afterAll',
      ({ command }) => {
        const spec = tree.specs.get(command);
        const noun = command.parent === root ? NOUNS[command.name()] : undefined;
        const examples = command === root ? ROOT_EXAMPLES : (spec?.examples ?? noun?.examples ?? []);
        return [
          '',
          'Examples:',
          ...examples.map((e) => `  ${e}`),
          '',
          'Every command reads the same environment as the server (see `gatehouse config check`).',
          '--json prints one JSON document. Exit codes: 0 ok, 1 usage error, 2 runtime error.',
        ].join('\n');
      },
    );

  const nouns = new Map<string, Parser>();
  for (const command of COMMANDS) {
    const [first, verb] = command.path;
    let parent = root;
    if (verb !== undefined) {
      let noun = nouns.get(first!);
      if (!noun) {
        const about = NOUNS[first!];
        noun = root.command(first!).description(about?.summary ?? '').usage('<verb> [options]').helpCommand(false);
        nouns.set(first!, noun);
      }
      parent = noun;
    }
    const parser = parent.command(verb ?? first!).description(command.summary).helpCommand(false);
    if (command.args) parser.arguments(command.args);
    const attributes: [string, Option][] = [];
    for (const [name, spec] of Object.entries(command.options ?? {})) {
      const option = toOption(name, spec, command.path);
      if (spec.type === 'string' && spec.multiple) repeatable.add(option);
      parser.addOption(option);
      attributes.push([name, option]);
    }
    tree.specs.set(parser, command);
    tree.leaves.push({
      command,
      parser,
      readOptions: () => {
        const values = parser.opts();
        return Object.fromEntries(attributes.map(([name, option]) => [name, values[option.attributeName()]]));
      },
    });
  }
  return tree;
}

function toOption(name: string, spec: OptionSpec, path: readonly string[]): Option {
  if (spec.type === 'boolean') return new Option(`--${name}`, spec.description);
  const option = new Option(`--${name} ${spec.value ?? '<value>'}`, spec.description);
  if (spec.type === 'integer') {
    return option.argParser((text: string) => {
      const n = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`--${name}: "${text}" is not a whole number; ${hint(path)}`);
      if (n < spec.min || n > spec.max) throw new UsageError(`--${name} must be ${spec.max === Number.MAX_SAFE_INTEGER ? `${spec.min} or more` : `${spec.min} to ${spec.max}`}; ${hint(path)}`);
      return n;
    });
  }
  if (spec.multiple) return option.argParser((text: string, previous: string[] | undefined) => [...(previous ?? []), text]);
  return option;
}

const ROOT_EXAMPLES = [
  'npx gatehouse migrate',
  'npx gatehouse clients create --name "Shop" --redirect-uri https://shop.example.com/callback',
  'npx gatehouse users list --json',
  'npx gatehouse clients --help',
  'source <(npx gatehouse completion bash)',
];

/** `--help --json`: the same help as one JSON document. */
function helpData(parser: Parser, tree: Tree) {
  const spec = tree.specs.get(parser);
  if (spec) return commandHelpData(spec);
  if (parser.parent) {
    const name = parser.name();
    return {
      command: name,
      usage: `gatehouse ${name} <verb> [options] [--json]`,
      summary: NOUNS[name]?.summary ?? '',
      commands: COMMANDS.filter((c) => c.path[0] === name && c.path.length > 1).map(commandHelpData),
      examples: NOUNS[name]?.examples ?? [],
    };
  }
  return { usage: `gatehouse ${USAGE}`, commands: COMMANDS.map(commandHelpData), examples: ROOT_EXAMPLES };
}

function commandHelpData(c: Command) {
  return { command: c.path.join(' '), args: c.args ?? null, summary: c.summary, options: c.options ?? {}, examples: c.examples };
}

function fail(io: CliIO, json: boolean, err: unknown): ExitCode {
  // The catalogue (src/errors.ts) says which: input the command rejected (a malformed URI, a weak
  // password) is a usage error (1), like a bad argument; a database outage, a missing client, a
  // failed migration are runtime errors (2), as is anything unexpected.
  const message = describeFailure(err);
  if (json) {
    const code = err instanceof AppError ? err.error : 'server_error';
    io.stdout(`${JSON.stringify({ error: code, error_description: message })}\n`);
  }
  io.stderr(`gatehouse: ${message.replaceAll('\n', '; ').replace(/:;\s+/, ': ')}\n`);
  return err instanceof AppError ? err.exitCode : 2;
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
