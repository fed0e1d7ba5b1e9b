import { createResource, deleteResource, listResources, parseScopeDescriptions, updateResource, type ResourceView } from '../../admin/resources.js';
import { parseDuration } from '../../lib/duration.js';
import { UsageError } from '../../errors.js';
import { defineCommand, type Command } from '../command.js';
import { withServices } from '../open-services.js';
import type { Services } from '../../services.js';

const deps = (s: Services) => ({ resources: s.resources, clients: s.clients, audit: s.audit, clock: s.clock, atomically: s.atomically });

const line = (r: ResourceView) =>
  `${r.audience}  scopes: ${r.scopes.join(' ') || '(none)'}  ttl: ${r.access_token_ttl ?? 'default'}${r.description ? `  (${r.description})` : ''}`;

/** `--ttl` as seconds or a duration; for updates also `default` (back to ACCESS_TOKEN_TTL). */
function ttlOption(text: string | undefined, allowDefault: boolean): number | null | undefined {
  if (text === undefined) return undefined;
  if (allowDefault && text.trim() === 'default') return null;
  const seconds = parseDuration(text);
  if (seconds === undefined) throw new UsageError(`--ttl: "${text}" is not a duration${allowDefault ? ' (or default)' : ''}`);
  return seconds;
}

export const resourceCommands: Command[] = [
  defineCommand({
    path: ['resources', 'create'],
    examples: [
      `npx gatehouse resources create --audience https://api.example.com --scope "orders:read orders:write" --ttl 5m`,
      `npx gatehouse resources create --audience https://api.example.com --scope orders:read --description "Your orders" --scope-description "orders:read=See your orders"`,
    ],
    summary: 'register an API that accepts Gatehouse access tokens',
    options: {
      audience: { type: 'string', description: 'the API identifier, the `aud` of its tokens, e.g. https://api.example.com (required)' },
      scope: { type: 'string', description: 'space-separated scopes the API understands, e.g. "orders:read orders:write"' },
      ttl: { type: 'string', description: 'access-token lifetime for this API (seconds or 5m, 1h); default ACCESS_TOKEN_TTL' },
      description: { type: 'string', description: 'what the API is, in words people read on the consent page, e.g. "Your orders at Acme"' },
      'scope-description': { type: 'string', multiple: true, description: 'what a scope lets an app do, as scope=words (repeatable), e.g. "orders:read=See your orders"' },
    },
    async run(ctx) {
      const { audience, scope, ttl, description } = ctx.options;
      if (!audience) throw new UsageError('--audience is required');
      const seconds = ttlOption(ttl, false) ?? undefined;
      const words = ctx.options['scope-description'];
      const scopeDescriptions = words && words.length > 0 ? parseScopeDescriptions(words) : undefined;
      const created = await withServices(ctx, (s) =>
        createResource(deps(s), { audience, scope, ttl: seconds, ...(description !== undefined ? { description } : {}), ...(scopeDescriptions ? { scopeDescriptions } : {}) }),
      );
      return { data: created, text: `created API ${line(created)}` };
    },
  }),
  defineCommand({
    path: ['resources', 'list'],
    examples: [
      'npx gatehouse resources list --json',
    ],
    summary: 'list registered APIs',
    async run(ctx) {
      const list = await withServices(ctx, (s) => listResources(s));
      return { data: list, text: list.length === 0 ? 'no APIs' : list.map(line).join('\n') };
    },
  }),
  defineCommand({
    path: ['resources', 'update'],
    examples: [
      'npx gatehouse resources update https://api.example.com --ttl default',
      `npx gatehouse resources update https://api.example.com --scope "orders:read orders:write refunds:write"`,
    ],
    args: '<audience>',
    summary: 'change an API: only the options given; running servers see it within 5 s',
    options: {
      scope: { type: 'string', description: 'the new list of scopes the API understands, e.g. "orders:read orders:write" (replaces the current list)' },
      ttl: { type: 'string', description: 'access-token lifetime for this API (seconds or 5m, 1h), or default for ACCESS_TOKEN_TTL' },
      description: { type: 'string', description: 'what the API is, in words people read on the consent page; "" removes it' },
      'scope-description': { type: 'string', multiple: true, description: 'what a scope lets an app do, as scope=words (repeatable); "scope=" removes its words' },
    },
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one audience');
      const audience = ctx.positionals[0]!;
      const { scope, ttl, description } = ctx.options;
      const seconds = ttlOption(ttl, true);
      const words = ctx.options['scope-description'];
      const scopeDescriptions = words && words.length > 0 ? parseScopeDescriptions(words) : undefined;
      if (scope === undefined && seconds === undefined && description === undefined && !scopeDescriptions) {
        throw new UsageError('nothing to change: give --scope, --ttl, --description or --scope-description');
      }
      const updated = await withServices(ctx, (s) =>
        updateResource(deps(s), audience, {
          ...(scope !== undefined ? { scope } : {}),
          ...(seconds !== undefined ? { ttl: seconds } : {}),
          ...(description !== undefined ? { description } : {}),
          ...(scopeDescriptions ? { scopeDescriptions } : {}),
        }),
      );
      const headline = updated.changed.length === 0 ? 'nothing changed' : `changed ${updated.changed.join(', ')} (running servers use it within 5 s)`;
      return { data: updated, text: `${headline}\nAPI ${line(updated)}` };
    },
  }),
  defineCommand({
    path: ['resources', 'delete'],
    examples: [
      'npx gatehouse resources delete https://api.example.com',
    ],
    args: '<audience>',
    summary: 'delete an API (refused while a client still uses it)',
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one audience');
      const audience = ctx.positionals[0]!;
      const result = await withServices(ctx, (s) => deleteResource(deps(s), audience));
      return { data: result, text: `deleted API ${audience}` };
    },
  }),
];
