import { queryAudit } from '../../admin/audit.js';
import { banDependencies, banIp, banUser, listIpBans, unbanIp, unbanUser, unlockUser, type BanDeps } from '../../admin/bans.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../lib/duration.js';
import type { Services } from '../../services.js';
import type { Command, CommandContext } from '../command.js';
import { withServices } from '../open-services.js';

const banDeps = (s: Services): BanDeps => banDependencies(s, 'cli');

const one = (ctx: CommandContext, what: string) => {
  if (ctx.positionals.length !== 1) throw new UsageError(`expected one ${what}`);
  return ctx.positionals[0]!;
};

export const defenseCommands: Command[] = [
  {
    path: ['users', 'ban'],
    args: '<email>',
    summary: 'refuse logins and revoke every session, grant and refresh token of the account now',
    options: { reason: { type: 'string', description: 'kept in the audit log and shown by users show' } },
    async run(ctx) {
      const email = one(ctx, 'email address');
      const r = await withServices(ctx, (s) => banUser(banDeps(s), email, ctx.options.reason as string | undefined));
      return { data: r, text: `banned ${r.email}; revoked ${r.revoked} sessions, grants and tokens` };
    },
  },
  {
    path: ['users', 'unban'],
    args: '<email>',
    summary: 'allow the account to log in again',
    async run(ctx) {
      const email = one(ctx, 'email address');
      const r = await withServices(ctx, (s) => unbanUser(banDeps(s), email));
      return { data: r, text: `unbanned ${r.email}` };
    },
  },
  {
    path: ['users', 'unlock'],
    args: '<email>',
    summary: 'lift a login lock, and re-enable a password disabled after too many failures',
    async run(ctx) {
      const email = one(ctx, 'email address');
      const r = await withServices(ctx, (s) => unlockUser(banDeps(s), email));
      return { data: r, text: `unlocked ${r.email}` };
    },
  },
  {
    path: ['ips', 'ban'],
    args: '<ip|cidr>',
    summary: 'refuse every request from an address or range (health endpoints excepted)',
    options: {
      for: { type: 'string', description: 'how long, e.g. 1h or 7d (default: until unbanned)' },
      reason: { type: 'string', description: 'kept in the audit log' },
    },
    async run(ctx) {
      const target = one(ctx, 'IP address or CIDR range');
      const text = ctx.options.for as string | undefined;
      const seconds = text === undefined ? undefined : parseDuration(text);
      if (text !== undefined && (seconds === undefined || seconds <= 0)) throw new UsageError(`--for: "${text}" is not a duration`);
      const r = await withServices(ctx, (s) => banIp(banDeps(s), target, { ...(seconds ? { seconds } : {}), ...(ctx.options.reason ? { reason: ctx.options.reason as string } : {}) }));
      return { data: r, text: `banned ${r.ip}${r.expires_at ? ` until ${r.expires_at}` : ''}` };
    },
  },
  {
    path: ['ips', 'unban'],
    args: '<ip|cidr>',
    summary: 'lift an IP ban',
    async run(ctx) {
      const target = one(ctx, 'IP address or CIDR range');
      const r = await withServices(ctx, (s) => unbanIp(banDeps(s), target));
      return { data: r, text: `unbanned ${r.ip}` };
    },
  },
  {
    path: ['ips', 'list'],
    summary: 'list active IP bans',
    async run(ctx) {
      const bans = await withServices(ctx, (s) => listIpBans(s));
      return { data: bans, text: bans.length === 0 ? 'no bans' : bans.map((b) => `${b.ip}  until ${b.expires_at ?? 'unbanned'}  ${b.reason ?? ''}`).join('\n') };
    },
  },
  {
    path: ['audit'],
    summary: 'read the audit log, newest first',
    options: {
      user: { type: 'string', description: 'only events for this email address' },
      type: { type: 'string', description: 'only this event type, e.g. login.failed, user.banned, keys.rotated' },
      since: { type: 'string', description: 'only events at or after this ISO time' },
      limit: { type: 'string', description: 'at most this many (default 100)' },
    },
    async run(ctx) {
      if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
      const o = ctx.options as Record<string, string | undefined>;
      const limit = o.limit === undefined ? undefined : Number(o.limit);
      const events = await withServices(ctx, (s) =>
        queryAudit(s.auditStore, { ...(o.user ? { user: o.user } : {}), ...(o.type ? { type: o.type } : {}), ...(o.since ? { since: o.since } : {}), ...(limit !== undefined ? { limit } : {}) }),
      );
      const text = events.length === 0 ? 'no events' : events.map((e) => `${e.at}  ${e.type.padEnd(28)} ${e.email ?? ''} ${e.ip ?? ''} ${e.client_id ? `client ${e.client_id}` : ''} ${JSON.stringify(e.detail)}`).join('\n');
      return { data: events, text };
    },
  },
];
