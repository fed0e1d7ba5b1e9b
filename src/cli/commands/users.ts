import { createUser } from '../../accounts/create-user.js';
import { normalizeEmail } from '../../accounts/normalize.js';
import { resetUserMfa } from '../../admin/mfa.js';
import { userView } from '../../admin/users.js';
import { notFound, UsageError } from '../../errors.js';
import { defineCommand, type Command } from '../command.js';
import { readStdin, withServices } from '../open-services.js';

export const userCommands: Command[] = [
  defineCommand({
    path: ['users', 'create'],
    examples: [
      "printf '%s' \"$PASSWORD\" | npx gatehouse users create ada@example.com --password-stdin --verified",
    ],
    args: '<email>',
    summary: 'create an account; the password is read from standard input, never from arguments',
    options: {
      'password-stdin': { type: 'boolean', description: 'read the password from standard input (required; one trailing newline is removed)' },
      verified: { type: 'boolean', description: 'mark the email address as already verified' },
    },
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one email address');
      if (ctx.options['password-stdin'] !== true) throw new UsageError('--password-stdin is required (passwords never go in arguments)');
      const password = (await readStdin(ctx.stdin)).replace(/\r?\n$/, '');
      const user = await withServices(ctx, (s) =>
        createUser(s, { email: ctx.positionals[0]!, password, verified: ctx.options.verified === true }),
      );
      return { data: userView(user), text: `created user ${user.email} (${user.id})` };
    },
  }),
  defineCommand({
    path: ['users', 'list'],
    examples: [
      'npx gatehouse users list --limit 20 --offset 40',
    ],
    summary: 'list accounts',
    options: {
      limit: { type: 'integer', min: 1, max: 10_000, value: '<n>', description: 'at most this many (default 100)' },
      offset: { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, value: '<n>', description: 'skip this many' },
    },
    async run(ctx) {
      const limit = ctx.options.limit ?? 100;
      const offset = ctx.options.offset ?? 0;
      const users = await withServices(ctx, (s) => s.users.list({ limit, offset }));
      const views = users.map(userView);
      return { data: views, text: views.length === 0 ? 'no users' : views.map((u) => `${u.email}  ${u.status}${u.email_verified ? '' : '  (unverified)'}`).join('\n') };
    },
  }),
  defineCommand({
    path: ['users', 'show'],
    examples: [
      'npx gatehouse users show ada@example.com --json',
    ],
    args: '<email>',
    summary: 'show one account',
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one email address');
      const email = normalizeEmail(ctx.positionals[0]);
      const user = await withServices(ctx, (s) => s.users.findByEmail(email));
      if (!user) throw notFound(`no user with email ${email}`);
      const view = userView(user);
      return { data: view, text: Object.entries(view).map(([k, v]) => `${k.padEnd(18)} ${v ?? ''}`).join('\n') };
    },
  }),
  defineCommand({
    path: ['users', 'mfa'],
    examples: [
      'npx gatehouse users mfa reset ada@example.com',
    ],
    args: '<action> <email>',
    summary: 'reset: remove every second factor of the account (authenticator app, recovery codes, passkeys); audited and mailed to the owner',
    async run(ctx) {
      const [action, email, ...rest] = ctx.positionals;
      if (action !== 'reset') throw new UsageError(action === undefined ? 'expected: users mfa reset <email>' : `unknown action "${action}" (the one action is reset)`);
      if (!email || rest.length > 0) throw new UsageError('expected one email address after reset');
      const r = await withServices(ctx, (s) => resetUserMfa(s, email, 'cli'));
      return {
        data: r,
        text: r.totp_removed || r.recovery_codes_removed > 0 || r.passkeys_removed > 0 ? `removed the second factors of ${r.email} (authenticator app: ${r.totp_removed ? 'yes' : 'none'}, recovery codes: ${r.recovery_codes_removed}, passkeys: ${r.passkeys_removed})` : `${r.email} had no second factor; nothing removed`,
      };
    },
  }),
];
