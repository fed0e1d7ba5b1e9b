import {
  createClient,
  DEFAULT_SECRET_OVERLAP_SECONDS,
  deleteClient,
  listClients,
  rotateClientSecret,
  showClient,
  updateClient,
  type ClientView,
} from '../../admin/clients.js';
import { UsageError } from '../../errors.js';
import { formatDuration, parseDuration } from '../../lib/duration.js';
import { defineCommand, type Command } from '../command.js';
import { withServices } from '../open-services.js';
import type { Services } from '../../services.js';

const describe = (c: ClientView & { client_secret?: string }) =>
  [
    `client_id      ${c.client_id}`,
    ...(c.client_secret ? [`client_secret  ${c.client_secret}   (shown once: store it now)`] : []),
    `name           ${c.client_name}`,
    `type           ${c.public ? 'public (PKCE, no secret)' : `confidential (${c.token_endpoint_auth_method})`}`,
    `grants         ${c.grant_types.join(', ')}`,
    ...(c.redirect_uris.length ? [`redirect_uris  ${c.redirect_uris.join(' ')}`] : []),
    ...(c.post_logout_redirect_uris.length ? [`post_logout    ${c.post_logout_redirect_uris.join(' ')}`] : []),
    ...(c.scope ? [`scope          ${c.scope}`] : []),
    ...(c.resources.length ? [`resources      ${c.resources.join(' ')} (default ${c.resources[0]})`] : []),
    ...(c.introspects.length ? [`introspects    ${c.introspects.join(' ')}`] : []),
    ...(c.previous_secret_expires_at ? [`old secret     accepted until ${c.previous_secret_expires_at}`] : []),
  ].join('\n');

const deps = (s: Services) => ({ clients: s.clients, resources: s.resources, audit: s.audit, clock: s.clock, atomically: s.atomically });

const one = (ctx: { positionals: string[] }, what: string) => {
  if (ctx.positionals.length !== 1) throw new UsageError(`expected one ${what}`);
  return ctx.positionals[0]!;
};

export const clientCommands: Command[] = [
  defineCommand({
    path: ['clients', 'create'],
    examples: [
      `npx gatehouse clients create --name "Shop" --redirect-uri https://shop.example.com/callback --scope "openid email offline_access"`,
      `npx gatehouse clients create --name "Shop SPA" --public --redirect-uri https://shop.example.com/cb`,
      'npx gatehouse clients create --name billing-job --grant client_credentials --resource https://api.example.com',
    ],
    summary: 'register an application; prints client_id and (confidential clients) client_secret once',
    options: {
      name: { type: 'string', description: 'display name shown on the consent page (required)' },
      'redirect-uri': { type: 'string', multiple: true, description: 'exact callback URL (authorization_code)' },
      'post-logout-redirect-uri': { type: 'string', multiple: true, description: 'where logout may return to' },
      grant: {
        type: 'string',
        multiple: true,
        description: 'authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (default: authorization_code + refresh_token with a redirect URI, else client_credentials)',
      },
      scope: { type: 'string', description: 'the only scopes it may request, e.g. "openid email offline_access orders:read"' },
      resource: { type: 'string', multiple: true, description: 'API audience it may get tokens for; the first is its default' },
      introspect: { type: 'string', multiple: true, description: 'API audience whose access tokens this client may introspect (give it to the API\'s own client); otherwise it sees only its own tokens' },
      public: { type: 'boolean', description: 'no secret (browser and native apps; PKCE protects the code)' },
      'auth-method': { type: 'string', description: 'client_secret_basic (default) or client_secret_post' },
    },
    async run(ctx) {
      if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
      const o = ctx.options;
      const name = o.name;
      if (name === undefined) throw new UsageError('--name is required');
      const created = await withServices(ctx, (s) =>
        createClient(deps(s), {
          name,
          redirectUris: o['redirect-uri'],
          postLogoutRedirectUris: o['post-logout-redirect-uri'],
          grants: o.grant,
          scope: o.scope,
          resources: o.resource,
          introspects: o.introspect,
          public: o.public === true,
          authMethod: o['auth-method'],
        }),
      );
      return { data: created, text: describe(created) };
    },
  }),
  defineCommand({
    path: ['clients', 'list'],
    examples: [
      'npx gatehouse clients list',
      'npx gatehouse clients list --json',
    ],
    summary: 'list registered applications',
    async run(ctx) {
      const clients = await withServices(ctx, (s) => listClients(s));
      const text = clients.length === 0 ? 'no clients' : clients.map((c) => `${c.client_id}  ${c.client_name}  [${c.grant_types.join(', ')}]`).join('\n');
      return { data: clients, text };
    },
  }),
  defineCommand({
    path: ['clients', 'show'],
    examples: [
      'npx gatehouse clients show <client_id>',
    ],
    args: '<client_id>',
    summary: 'show one application (never its secret)',
    async run(ctx) {
      const id = one(ctx, 'client_id');
      const client = await withServices(ctx, (s) => showClient(s, id));
      return { data: client, text: describe(client) };
    },
  }),
  defineCommand({
    path: ['clients', 'update'],
    examples: [
      `npx gatehouse clients update <client_id> --name "Shop 2"`,
      'npx gatehouse clients update <client_id> --redirect-uri https://shop.example.com/a --redirect-uri https://shop.example.com/b',
    ],
    args: '<client_id>',
    summary: 'change an application: only the options given; a repeated option replaces the whole list',
    options: {
      name: { type: 'string', description: 'new display name' },
      'redirect-uri': { type: 'string', multiple: true, description: 'the new list of exact callback URLs (replaces every current one)' },
      'post-logout-redirect-uri': { type: 'string', multiple: true, description: 'the new list of logout return URLs (replaces every current one)' },
      scope: { type: 'string', description: 'the new list of scopes it may request, e.g. "openid email orders:read"; "" lifts the limit' },
      resource: { type: 'string', multiple: true, description: 'the new list of API audiences it may get tokens for; the first is its default' },
    },
    async run(ctx) {
      const id = one(ctx, 'client_id');
      const o = ctx.options;
      const input = {
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o['redirect-uri'] !== undefined ? { redirectUris: o['redirect-uri'] } : {}),
        ...(o['post-logout-redirect-uri'] !== undefined ? { postLogoutRedirectUris: o['post-logout-redirect-uri'] } : {}),
        ...(o.scope !== undefined ? { scope: o.scope } : {}),
        ...(o.resource !== undefined ? { resources: o.resource } : {}),
      };
      if (Object.keys(input).length === 0) {
        throw new UsageError('nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri, --scope or --resource');
      }
      const updated = await withServices(ctx, (s) => updateClient(deps(s), id, input));
      const headline = updated.changed.length === 0 ? 'nothing changed' : `changed ${updated.changed.join(', ')}`;
      return { data: updated, text: `${headline}\n${describe(updated)}` };
    },
  }),
  defineCommand({
    path: ['clients', 'rotate-secret'],
    examples: [
      'npx gatehouse clients rotate-secret <client_id>',
      'npx gatehouse clients rotate-secret <client_id> --overlap 0',
    ],
    args: '<client_id>',
    summary: 'give a confidential application a new client_secret (printed once); the old one keeps working during the overlap',
    options: {
      overlap: {
        type: 'string',
        description: `how long the old secret still works (seconds or 30m, 24h, 7d; at most 30d); 0 ends it now; default ${formatDuration(DEFAULT_SECRET_OVERLAP_SECONDS)}. Only the newest old secret is kept: rotating again during an overlap ends the older one at once`,
      },
    },
    async run(ctx) {
      const id = one(ctx, 'client_id');
      const text = ctx.options.overlap;
      const overlapSeconds = text === undefined ? undefined : parseDuration(text);
      if (text !== undefined && overlapSeconds === undefined) throw new UsageError(`--overlap: "${text}" is not a duration (e.g. 0, 3600, 30m, 24h, 7d)`);
      const rotated = await withServices(ctx, (s) => rotateClientSecret(deps(s), id, overlapSeconds === undefined ? {} : { overlapSeconds }));
      return {
        data: rotated,
        text: [
          `client_id      ${rotated.client_id}`,
          `client_secret  ${rotated.client_secret}   (shown once: store it now)`,
          rotated.previous_secret_expires_at ? `old secret     accepted until ${rotated.previous_secret_expires_at}` : 'old secret     no longer accepted',
        ].join('\n'),
      };
    },
  }),
  defineCommand({
    path: ['clients', 'delete'],
    examples: [
      'npx gatehouse clients delete <client_id>',
    ],
    args: '<client_id>',
    summary: 'delete an application; its tokens stop working at once',
    async run(ctx) {
      const id = one(ctx, 'client_id');
      const result = await withServices(ctx, (s) => deleteClient(deps(s), id));
      return { data: result, text: `deleted client ${id}` };
    },
  }),
];
