import { checkJti, revokeAccessToken } from '../../admin/tokens.js';
import { UsageError } from '../../errors.js';
import { defineCommand, type Command } from '../command.js';
import { withServices } from '../open-services.js';

export const tokenCommands: Command[] = [
  defineCommand({
    path: ['tokens', 'revoke'],
    examples: [
      `npx gatehouse tokens revoke qM2c8PZk0yQ7tXo3JvR9sLw4nB6dHfA1eUiG5KjTzxC --reason "leaked in a log"`,
      'npx gatehouse tokens revoke "$JTI" --json',
    ],
    args: '<jti>',
    summary: "revoke one JWT access token by its jti: listed in the revocation feed until it would have expired",
    options: { reason: { type: 'string', description: 'kept in the audit log' } },
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one token id (the jti claim of the access token)');
      const jti = ctx.positionals[0]!;
      checkJti(jti);
      const r = await withServices(ctx, (s) =>
        revokeAccessToken({ revocations: s.revocations, resources: s.resources, config: s.config, audit: s.audit, clock: s.clock, atomically: s.atomically, actor: 'cli' }, jti, ctx.options.reason),
      );
      return { data: r, text: `revoked access token ${r.jti}; listed in the revocation feed until ${r.listed_until}` };
    },
  }),
];
