import { describeConfig } from '../../config/load-config.js';
import { defineCommand, type Command } from '../command.js';
import { assertPresentation } from '../../rendering/presentation.js';

export const configCheckCommand: Command = defineCommand({
  path: ['config', 'check'],
  examples: [
      'npx gatehouse config check',
      'npx gatehouse config check --json',
  ],
  summary: 'validate the environment and print the effective configuration (secrets masked)',
  async run(ctx) {
    const config = await ctx.config();
    // The templates and message files are read too: a broken one would refuse the start.
    assertPresentation(config);
    const shown = describeConfig(config);
    const width = Math.max(...Object.keys(shown).map((k) => k.length));
    const text = Object.entries(shown)
      .map(([key, value]) => `${key.padEnd(width)}  ${value === null ? '(unset)' : String(value)}`)
      .join('\n');
    return { data: shown, text };
  },
});
