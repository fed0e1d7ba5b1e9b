import { defineCommand, type Command } from '../command.js';
import { completionScript, SHELLS } from '../completion.js';
import { UsageError } from '../../errors.js';
import { clientCommands } from './clients.js';
import { configCheckCommand } from './config-check.js';
import { dbCommands } from './db.js';
import { defenseCommands } from './defense.js';
import { keyCommands } from './keys.js';
import { migrateCommand } from './migrate.js';
import { resourceCommands } from './resources.js';
import { tokenCommands } from './tokens.js';
import { userCommands } from './users.js';

/** The nouns that group verbs: what `gatehouse <noun> --help` (or `gatehouse <noun>` alone) says. */
export const NOUNS: Readonly<Record<string, { summary: string; examples: readonly string[] }>> = {
  config: { summary: 'check the configuration the server and the CLI read from the environment', examples: ['npx gatehouse config check', 'PORT=4000 npx gatehouse config check --json'] },
  db: { summary: 'back up the embedded SQLite database', examples: ['npx gatehouse db backup backups/gatehouse-$(date +%F).db'] },
  clients: {
    summary: 'register and change applications (OAuth clients)',
    examples: ['npx gatehouse clients create --name "Shop" --redirect-uri https://shop.example.com/callback', 'npx gatehouse clients list', 'npx gatehouse clients create --help'],
  },
  resources: {
    summary: 'register and change APIs that accept Gatehouse access tokens',
    examples: ['npx gatehouse resources create --audience https://api.example.com --scope "orders:read orders:write"', 'npx gatehouse resources list'],
  },
  users: {
    summary: 'create, list, ban and unlock accounts',
    examples: ['printf "%s" "$PASSWORD" | npx gatehouse users create ada@example.com --password-stdin', 'npx gatehouse users ban mallory@example.com --reason "credential stuffing"'],
  },
  ips: { summary: 'refuse requests from addresses or ranges', examples: ['npx gatehouse ips ban 203.0.113.0/24 --for 7d --reason "scanner"', 'npx gatehouse ips list'] },
  tokens: { summary: 'revoke one access token before it expires', examples: ['npx gatehouse tokens revoke "$JTI" --reason "leaked in a log"'] },
  keys: { summary: 'list, rotate, revoke and prune signing keys', examples: ['npx gatehouse keys list', 'npx gatehouse keys rotate'] },
};

const completionCommand = defineCommand({
  path: ['completion'],
  args: '<shell>',
  summary: `print a shell completion script for nouns, verbs and options (${SHELLS.join(' or ')})`,
  examples: ['source <(npx gatehouse completion bash)', 'npx gatehouse completion bash > /etc/bash_completion.d/gatehouse', 'source <(npx gatehouse completion zsh)'],
  async run(ctx) {
    const shell = ctx.positionals[0] ?? '';
    if (!SHELLS.includes(shell)) throw new UsageError(`unknown shell "${shell}"; expected ${SHELLS.join(' or ')}`);
    const script = completionScript(shell, COMMANDS);
    return { data: { shell, script }, text: script.trimEnd() };
  },
});

export const COMMANDS: readonly Command[] = [
  migrateCommand,
  configCheckCommand,
  ...dbCommands,
  ...clientCommands,
  ...resourceCommands,
  ...userCommands,
  ...defenseCommands,
  ...tokenCommands,
  ...keyCommands,
  completionCommand,
];
