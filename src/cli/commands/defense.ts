import { queryAudit } from '../../admin/audit.js';
import { banDependencies, banIp, banUser, listIpBans, signOutUser, unbanIp, unbanUser, unlockUser, type BanDeps } from '../../admin/bans.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../lib/duration.js';
import type { Services } from '../../services.js';
import { defineCommand, type Command, type CommandContext } from '../command.js';
import { withServices } from '../open-services.js';

const banDeps = (s: Services): BanDeps => banDependencies(s, 'cli');

const one = (ctx: CommandContext, what: string) => {
  if (ctx.positionals.length !== 1) throw new UsageError(`expected one ${what}`);
  return ctx.positionals[0]!;
};

export const defenseCommands: Command[] = [
  defineCommand({
    path: ['users', 'ban'],
    examples: [
      `npx gatehouse users ban mallory@example.com --reason "credential stuffing"`,
      'npx gatehouse users ban mallory@example.com   (again, to revoke new sessions; keeps the stored reason)',
    ],
    args: '<email>',
    summary: 'refuse logins and revoke every session, grant and refresh token of the account now',
    options: { reason: { type: 'string', description: 'kept in the audit log and shown by users show; banning again without --reason keeps the current one' } },
    async run(ctx) {
      const email = one(ctx, 'email address');
      const r = await withServices(ctx, (s) => banUser(banDeps(s), email, ctx.options.reason));
      return { data: r, text: `banned ${r.email}; revoked ${r.revoked} sessions, grants and tokens` };
    },
  }),
  defineCommand({
    path: ['users', 'unban'],
    examples: [
      'npx gatehouse users unban mallory@example.com',
    ],
    args: '<email>',
    summary: 'allow the account to log in again',
    async run(ctx) {
      const email = one(ctx, 'email address');
      const r = await withServices(ctx, (s) => unbanUser(banDeps(s), email));
      return { data: r, text: `unbanned ${r.email}` };
    },
  }),
  defineCommand({
    path: ['users', 'unlock'],
    examples: [
      'npx gatehouse users unlock ada@example.com',
    ],
    args: '<email>',
    summary: 'lift a login lock, and re-enable a password disabled after too many failures',
    async run(ctx) {
      const email = one(ctx, 'email address');
      const r = await withServices(ctx, (s) => unlockUser(banDeps(s), email));
      return { data: r, text: `unlocked ${r.email}` };
    },
  }),
  defineCommand({
    path: ['users', 'sign-out'],
    examples: [
      'npx gatehouse users sign-out ada@example.com',
    ],
    args: '<email>',
    summary: 'sign a user out everywhere: sessions, grants and refresh tokens revoked, access tokens listed in the revocation feed',
    async run(ctx) {
      const email = one(ctx, 'email address');
      const r = await withServices(ctx, (s) => signOutUser(banDeps(s), email));
      return { data: r, text: `signed out ${r.email} everywhere (${r.revoked} revoked)` };
    },
  }),
  defineCommand({
    path: ['ips', 'ban'],
    examples: [
      'npx gatehouse ips ban 203.0.113.7 --for 1h',
      `npx gatehouse ips ban 198.51.100.0/24 --reason "scanner"`,
    ],
    args: '<ip|cidr>',
    summary: 'refuse every request from an address or range (health endpoints excepted)',
    options: {
      for: { type: 'string', description: 'how long, e.g. 1h or 7d (default: until unbanned)' },
      reason: { type: 'string', description: 'kept in the audit log and shown by ips list; banning again without --reason keeps the current one' },
    },
    async run(ctx) {
      const target = one(ctx, 'IP address or CIDR range');
      const text = ctx.options.for;
      const reason = ctx.options.reason;
      const seconds = text === undefined ? undefined : parseDuration(text);
      if (text !== undefined && (seconds === undefined || seconds <= 0)) throw new UsageError(`--for: "${text}" is not a duration`);
      const r = await withServices(ctx, (s) => banIp(banDeps(s), target, { ...(seconds ? { seconds } : {}), ...(reason ? { reason } : {}) }));
      return { data: r, text: `banned ${r.ip}${r.expires_at ? ` until ${r.expires_at}` : ''}` };
    },
  }),
  defineCommand({
    path: ['ips', 'unban'],
    examples: [
      'npx gatehouse ips unban 198.51.100.0/24',
    ],
    args: '<ip|cidr>',
    summary: 'lift an IP ban',
    async run(ctx) {
      const target = one(ctx, 'IP address or CIDR range');
      const r = await withServices(ctx, (s) => unbanIp(banDeps(s), target));
      return { data: r, text: `unbanned ${r.ip}` };
    },
  }),
  defineCommand({
    path: ['ips', 'list'],
    examples: [
      'npx gatehouse ips list',
    ],
    summary: 'list active IP bans',
    async run(ctx) {
      const bans = await withServices(ctx, (s) => listIpBans(s));
      return { data: bans, text: bans.length === 0 ? 'no bans' : bans.map((b) => `${b.ip}  until ${b.expires_at ?? 'unbanned'}  ${b.reason ?? ''}`).join('\n') };
    },
  }),
  defineCommand({
    path: ['audit'],
    examples: [
      'npx gatehouse audit --type login.failed --since 2026-01-01T00:00:00Z --limit 20',
      'npx gatehouse audit --user ada@example.com --json',
    ],
    summary: 'read the audit log, newest first',
    options: {
      user: { type: 'string', description: 'only events for this email address' },
      type: { type: 'string', description: 'only this event type, e.g. login.failed, user.banned, keys.rotated' },
      since: { type: 'string', description: 'only events at or after this ISO time' },
      limit: { type: 'integer', min: 1, max: 10_000, value: '<n>', description: 'at most this many (default 100)' },
    },
    async run(ctx) {
      if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
      const o = ctx.options;
      const limit = o.limit;
      const events = await withServices(ctx, (s) =>
        queryAudit(s.auditStore, { ...(o.user ? { user: o.user } : {}), ...(o.type ? { type: o.type } : {}), ...(o.since ? { since: o.since } : {}), ...(limit !== undefined ? { limit } : {}) }),
      );
      const text = events.length === 0 ? 'no events' : events.map((e) => `${e.at}  ${e.type.padEnd(28)} ${e.email ?? ''} ${e.ip ?? ''} ${e.client_id ? `client ${e.client_id}` : ''} ${JSON.stringify(e.detail)}`).join('\n');
      return { data: events, text };
    },
  }),
];
