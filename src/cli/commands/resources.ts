import { createResource, deleteResource, listResources, type ResourceView } from '../../admin/resources.js';
import { parseDuration } from '../../lib/duration.js';
import { UsageError } from '../../errors.js';
import type { Command } from '../command.js';
import { withServices } from '../open-services.js';

const line = (r: ResourceView) => `${r.audience}  scopes: ${r.scopes.join(' ') || '(none)'}  ttl: ${r.access_token_ttl ?? 'default'}`;

export const resourceCommands: Command[] = [
  {
    path: ['resources', 'create'],
    summary: 'register an API that accepts Gatehouse access tokens',
    options: {
      audience: { type: 'string', description: 'the API identifier, the `aud` of its tokens, e.g. https://api.example.com (required)' },
      scope: { type: 'string', description: 'space-separated scopes the API understands, e.g. "orders:read orders:write"' },
      ttl: { type: 'string', description: 'access-token lifetime for this API (seconds or 5m, 1h); default ACCESS_TOKEN_TTL' },
    },
    async run(ctx) {
      const { audience, scope, ttl } = ctx.options as Record<string, string | undefined>;
      if (!audience) throw new UsageError('--audience is required');
      const seconds = ttl === undefined ? undefined : parseDuration(ttl);
      if (ttl !== undefined && seconds === undefined) throw new UsageError(`--ttl: "${ttl}" is not a duration`);
      const created = await withServices(ctx, (s) =>
        createResource({ resources: s.resources, clients: s.clients, audit: s.audit, clock: s.clock, atomically: s.atomically }, { audience, scope, ttl: seconds }),
      );
      return { data: created, text: `created API ${line(created)}` };
    },
  },
  {
    path: ['resources', 'list'],
    summary: 'list registered APIs',
    async run(ctx) {
      const list = await withServices(ctx, (s) => listResources(s));
      return { data: list, text: list.length === 0 ? 'no APIs' : list.map(line).join('\n') };
    },
  },
  {
    path: ['resources', 'delete'],
    args: '<audience>',
    summary: 'delete an API (refused while a client still uses it)',
    async run(ctx) {
      if (ctx.positionals.length !== 1) throw new UsageError('expected one audience');
      const audience = ctx.positionals[0]!;
      const result = await withServices(ctx, (s) => deleteResource({ resources: s.resources, clients: s.clients, audit: s.audit, clock: s.clock, atomically: s.atomically }, audience));
      return { data: result, text: `deleted API ${audience}` };
    },
  },
];
