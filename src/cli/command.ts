import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';

/** What a command gets: parsed options, the configuration (read on demand), and output. */
export interface CommandContext {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
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

export type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; description: string };

export interface Command {
  /** `["keys", "rotate"]`, `["migrate"]` */
  path: readonly string[];
  summary: string;
  /** Positional arguments, for help, e.g. `<email>`. */
  args?: string;
  options?: Record<string, OptionSpec>;
  run(ctx: CommandContext): Promise<CommandResult>;
}
