import { listSigningKeys, pruneSigningKeys, revokeSigningKey, rotateSigningKeys, type KeyView } from '../../admin/keys.js';
import { UsageError } from '../../errors.js';
import { defineCommand, type Command } from '../command.js';
import { withServices } from '../open-services.js';

const table = (keys: KeyView[]) =>
  keys.map((k) => `${k.kid}  ${k.alg}  ${k.state.padEnd(7)}  activates ${k.activates_at}  retires ${k.retires_at ?? '-'}  removed ${k.removed_at ?? '-'}`).join('\n');

export const keyCommands: Command[] = [
  defineCommand({
    path: ['keys', 'list'],
    examples: [
      'npx gatehouse keys list',
    ],
    summary: 'list signing keys with their state (next, active, retired, removed) and schedule',
    async run(ctx) {
      const result = await withServices(ctx, (s) => listSigningKeys({ config: s.config, clock: s.clock }));
      return { data: result.keys, text: `${table(result.keys)}\nnext change: ${result.next_change_at ?? 'none scheduled'}` };
    },
  }),
  defineCommand({
    path: ['keys', 'rotate'],
    examples: [
      'npx gatehouse keys rotate',
      'npx gatehouse keys rotate --now',
    ],
    summary: 'publish new keys now; they sign after KEY_PREPUBLISH and the old ones retire then',
    options: { now: { type: 'boolean', description: 'sign with the new keys at once (one instance, or an emergency)' } },
    async run(ctx) {
      if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
      const result = await withServices(ctx, (s) => rotateSigningKeys({ config: s.config, resources: s.resources, audit: s.audit, clock: s.clock }, { now: ctx.options.now === true }));
      return { data: result.keys, text: `published ${result.added.map((k) => `${k.kid} (${k.alg}, signs from ${k.activates_at})`).join(', ')}\n${table(result.keys)}` };
    },
  }),
  defineCommand({
    path: ['keys', 'revoke'],
    examples: [
      'npx gatehouse keys revoke <kid>',
      'npx gatehouse keys revoke -- -kid-starting-with-a-dash',
    ],
    args: '<kid>',
    summary: 'remove a compromised key now: tokens it signed stop verifying (a new key replaces it if it was signing); a kid that starts with "-" goes after "--"',
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one kid');
      const result = await withServices(ctx, (s) => revokeSigningKey({ config: s.config, resources: s.resources, audit: s.audit, clock: s.clock }, ctx.positionals[0]!));
      return { data: result.keys, text: `revoked ${result.revoked}${result.replacement ? `; ${result.replacement} signs from now on` : ''}\n${table(result.keys)}` };
    },
  }),
  defineCommand({
    path: ['keys', 'prune'],
    examples: [
      'npx gatehouse keys prune',
    ],
    summary: "delete removed keys' files from the keyring",
    async run(ctx) {
      const result = await withServices(ctx, (s) => pruneSigningKeys({ config: s.config, resources: s.resources, audit: s.audit, clock: s.clock }));
      return { data: result, text: result.pruned.length > 0 ? `pruned ${result.pruned.join(', ')}` : 'nothing to prune' };
    },
  }),
];
