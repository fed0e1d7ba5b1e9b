import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';

/**
 * One option of a command. `string` takes a value (`--name <value>`), `boolean` is a flag, `integer`
 * takes a whole number within `min`..`max`; `multiple` strings may be repeated and collect into a list.
 */
export type OptionSpec =
  | { type: 'string'; multiple?: boolean; value?: string; description: string }
  | { type: 'boolean'; description: string }
  | { type: 'integer'; min: number; max: number; value?: string; description: string };

/** The parsed value of one option, as its spec says (undefined when not given). */
export type OptionValue<S extends OptionSpec> = S extends { type: 'boolean' }
  ? boolean | undefined
  : S extends { type: 'integer' }
    ? number | undefined
    : S extends { multiple: true }
      ? string[] | undefined
      : string | undefined;

export type OptionSpecs = Record<string, OptionSpec>;
export type OptionValues<O extends OptionSpecs> = { [K in keyof O]: OptionValue<O[K]> };

/** What a command gets: parsed options, the configuration (read on demand), and output. */
export interface CommandContext<O extends OptionSpecs = OptionSpecs> {
  positionals: string[];
  options: OptionValues<O>;
  json: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  config(): Promise<Readonly<Config>>;
  logger: Logger;
}

/** A command returns data; the CLI prints it as one JSON document (`--json`) or as text. */
export interface CommandResult {
  data: unknown;
  text: string;
}

export interface Command<O extends OptionSpecs = OptionSpecs> {
  /** `["keys", "rotate"]`, `["migrate"]` */
  path: readonly string[];
  summary: string;
  /** The positional argument, for parsing and help, e.g. `<email>` (required) or `[file]` (optional). */
  args?: string;
  options?: O;
  /** Complete command lines shown under "Examples" in the command's `--help`. */
  examples: readonly string[];
  run(ctx: CommandContext<O>): Promise<CommandResult>;
}

/**
 * Declares a command whose `run` sees its options typed from their specs (`--name` a string, `--public`
 * a boolean, `--limit` a number, a repeatable option a list), so commands need no casts.
 */
export function defineCommand<const O extends OptionSpecs = Record<never, OptionSpec>>(command: Command<O>): Command {
  return command;
}
