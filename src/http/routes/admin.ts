import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createUser } from '../../accounts/create-user.js';
import { normalizeEmail } from '../../accounts/normalize.js';
import { ADMIN_SCOPE, adminAudience } from '../../admin/admin-resource.js';
import { queryAudit } from '../../admin/audit.js';
import { banDependencies, banIp, banUser, listIpBans, unbanIp, unbanUser, unlockUser, type BanDeps } from '../../admin/bans.js';
import { createClient, deleteClient, listClients, rotateClientSecret, showClient, updateClient } from '../../admin/clients.js';
import { listSigningKeys, pruneSigningKeys, revokeSigningKey, rotateSigningKeys } from '../../admin/keys.js';
import { createResource, deleteResource, listResources, updateResource } from '../../admin/resources.js';
import { userView } from '../../admin/users.js';
import { AppError, notFound } from '../../errors.js';
import { parseDuration } from '../../lib/duration.js';
import type { Services } from '../../services.js';
import { readBearerHeader } from '../../verifier/authorization-header.js';

export interface AdminRouteDeps {
  services: Services;
  issuer: string;
  verifyOwnToken(token: string, audience: string): Promise<Record<string, unknown>>;
  /** Re-read the keyring now: a key change made through this instance takes effect here at once. */
  reloadKeys(): Promise<void>;
}

/** RFC 6750 §3: the challenge; its error_description must be printable ASCII without quotes. */
const challenge = (description: string) =>
  `Bearer realm="gatehouse-admin", error="invalid_token", error_description="${description.replace(/[^\x20-\x7e]|["\\]/g, '')}"`;

const unauthorized = (description: string) => new AppError('invalid_token', description, { headers: { 'www-authenticate': challenge(description) } });

/**
 * The admin API: what the CLI does, over HTTP, for an access token carrying `gatehouse:admin` for the
 * audience `$ISSUER/admin` (client credentials for a client created with that resource and scope).
 * The token is verified locally against our own keys on every request; it must be the client's own
 * (client credentials, not derived from a person's grant), and its client must still exist.
 */
export function adminRoutes(deps: AdminRouteDeps) {
  const s = deps.services;
  const audience = adminAudience(deps.issuer);

  const authenticate = async (request: FastifyRequest) => {
    // The verifier library's parser: RFC 6750 §2.1, the scheme in any case (RFC 9110 §11.1).
    const presented = readBearerHeader(request.headers.authorization);
    if (presented.kind !== 'token') throw unauthorized('an admin access token is required (Authorization: Bearer <token>)');
    let claims: Record<string, unknown>;
    try {
      claims = await deps.verifyOwnToken(presented.token, audience);
    } catch {
      throw unauthorized('the access token is invalid or expired');
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(ADMIN_SCOPE)) {
      throw new AppError('insufficient_scope', `the token lacks the ${ADMIN_SCOPE} scope`, {
        headers: { 'www-authenticate': `Bearer realm="gatehouse-admin", error="insufficient_scope", scope="${ADMIN_SCOPE}"` },
      });
    }
    const clientId = String(claims.client_id ?? '');
    // Only the client's own token (client credentials) administers: a token minted from a person's
    // grant carries that person as `sub`, while oidc-provider sets `sub` to the client id exactly
    // when no account is involved. A person who consented to an app is not an operator.
    if (claims.sub !== clientId) throw unauthorized('the admin API accepts only client credentials tokens');
    if (!(await s.clients.findById(clientId))) throw unauthorized('the client of this token no longer exists');
    (request as FastifyRequest & { adminClient?: string }).adminClient = clientId;
  };
  const actor = (request: FastifyRequest) => `admin api (client ${(request as FastifyRequest & { adminClient?: string }).adminClient})`;
  const banDeps = (request: FastifyRequest): BanDeps =>
    banDependencies(s, actor(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
  const clientDeps = { clients: s.clients, resources: s.resources, audit: s.audit, clock: s.clock, atomically: s.atomically };
  const keyDeps = { config: s.config, resources: s.resources, audit: s.audit, clock: s.clock };
  const emailParam = { type: 'object', required: ['email'], properties: { email: { type: 'string', maxLength: 320 } } } as const;
  const optionalReason = { type: 'object', properties: { reason: { type: 'string', maxLength: 500 } }, additionalProperties: false } as const;
  const ipBody = {
    type: 'object',
    required: ['ip'],
    properties: { ip: { type: 'string', maxLength: 100 }, for: { type: 'string', maxLength: 20 }, reason: { type: 'string', maxLength: 500 } },
    additionalProperties: false,
  } as const;
  type Email = { Params: { email: string } };
  const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 200 } } } as const;
  const uriList = { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 500 } } as const;
  // A request without a body (curl -X POST) means "no options": validated as {}.
  const emptyBodyIsObject = async (request: FastifyRequest) => {
    if (request.body === undefined) request.body = {};
  };
  const audienceQuery = { type: 'object', required: ['audience'], properties: { audience: { type: 'string', maxLength: 500 } } } as const;

  return async function routes(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', authenticate);
    app.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });

    app.get<{ Querystring: { limit?: number; offset?: number } }>(
      '/admin/users',
      { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10000 }, offset: { type: 'integer', minimum: 0 } } } } },
      async (request) => (await s.users.list({ limit: request.query.limit ?? 100, offset: request.query.offset ?? 0 })).map(userView),
    );
    app.post<{ Body: { email: string; password: string; verified?: boolean } }>(
      '/admin/users',
      {
        schema: {
          body: {
            type: 'object',
            required: ['email', 'password'],
            properties: { email: { type: 'string', maxLength: 320 }, password: { type: 'string', maxLength: 4096 }, verified: { type: 'boolean' } },
            additionalProperties: false,
          },
        },
      },
      async (request, reply) => reply.code(201).send(userView(await createUser(s, { email: request.body.email, password: request.body.password, verified: request.body.verified === true }))),
    );
    app.get<Email>('/admin/users/:email', { schema: { params: emailParam } }, async (request) => {
      const user = await s.users.findByEmail(normalizeEmail(request.params.email));
      if (!user) throw notFound(`no user with email ${request.params.email}`);
      return userView(user);
    });
    app.post<Email & { Body: { reason?: string } }>('/admin/users/:email/ban', { schema: { params: emailParam, body: optionalReason } }, async (request) =>
      banUser(banDeps(request), request.params.email, request.body?.reason),
    );
    app.post<Email>('/admin/users/:email/unban', { schema: { params: emailParam } }, async (request) => unbanUser(banDeps(request), request.params.email));
    app.post<Email>('/admin/users/:email/unlock', { schema: { params: emailParam } }, async (request) => unlockUser(banDeps(request), request.params.email));

    app.get('/admin/ips', async () => listIpBans(s));
    app.post<{ Body: { ip: string; for?: string; reason?: string } }>('/admin/ips/ban', { schema: { body: ipBody } }, async (request) => {
      const seconds = request.body.for === undefined ? undefined : parseDuration(request.body.for);
      if (request.body.for !== undefined && !seconds) throw new AppError('invalid_request', `for: "${request.body.for}" is not a duration`);
      return banIp(banDeps(request), request.body.ip, { ...(seconds ? { seconds } : {}), ...(request.body.reason ? { reason: request.body.reason } : {}) });
    });
    app.post<{ Body: { ip: string } }>('/admin/ips/unban', { schema: { body: ipBody } }, async (request) => unbanIp(banDeps(request), request.body.ip));

    app.get<{ Querystring: { user?: string; type?: string; since?: string; limit?: number } }>(
      '/admin/audit',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: { user: { type: 'string', maxLength: 320 }, type: { type: 'string', maxLength: 60 }, since: { type: 'string', maxLength: 40 }, limit: { type: 'integer', minimum: 1, maximum: 10000 } },
          },
        },
      },
      async (request) => queryAudit(s.auditStore, request.query),
    );

    app.get('/admin/clients', async () => listClients(s));
    app.get<{ Params: { id: string } }>('/admin/clients/:id', async (request) => showClient(s, request.params.id));
    app.post<{ Body: Record<string, unknown> }>(
      '/admin/clients',
      {
        schema: {
          body: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string', maxLength: 200 },
              redirect_uris: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 500 } },
              post_logout_redirect_uris: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 500 } },
              grant_types: { type: 'array', maxItems: 4, items: { type: 'string', maxLength: 100 } },
              scope: { type: 'string', maxLength: 2000 },
              resources: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 500 } },
              introspects: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 500 } },
              public: { type: 'boolean' },
              token_endpoint_auth_method: { type: 'string', enum: ['client_secret_basic', 'client_secret_post'] },
            },
            additionalProperties: false,
          },
        },
      },
      async (request, reply) => {
        const b = request.body as { name: string; redirect_uris?: string[]; post_logout_redirect_uris?: string[]; grant_types?: string[]; scope?: string; resources?: string[]; introspects?: string[]; public?: boolean; token_endpoint_auth_method?: string };
        const created = await createClient(clientDeps, {
          name: b.name,
          ...(b.redirect_uris ? { redirectUris: b.redirect_uris } : {}),
          ...(b.post_logout_redirect_uris ? { postLogoutRedirectUris: b.post_logout_redirect_uris } : {}),
          ...(b.grant_types ? { grants: b.grant_types } : {}),
          ...(b.scope !== undefined ? { scope: b.scope } : {}),
          ...(b.resources ? { resources: b.resources } : {}),
          ...(b.introspects ? { introspects: b.introspects } : {}),
          ...(b.public ? { public: true } : {}),
          ...(b.token_endpoint_auth_method ? { authMethod: b.token_endpoint_auth_method } : {}),
        });
        return reply.code(201).send(created);
      },
    );
    app.patch<{ Params: { id: string }; Body: { name?: string; redirect_uris?: string[]; post_logout_redirect_uris?: string[]; scope?: string; resources?: string[] } }>(
      '/admin/clients/:id',
      {
        preValidation: emptyBodyIsObject,
        schema: {
          params: idParam,
          body: {
            type: 'object',
            properties: {
              name: { type: 'string', maxLength: 200 },
              redirect_uris: uriList,
              post_logout_redirect_uris: uriList,
              scope: { type: 'string', maxLength: 2000 },
              resources: uriList,
            },
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        const b = request.body;
        return updateClient(clientDeps, request.params.id, {
          ...(b.name !== undefined ? { name: b.name } : {}),
          ...(b.redirect_uris ? { redirectUris: b.redirect_uris } : {}),
          ...(b.post_logout_redirect_uris ? { postLogoutRedirectUris: b.post_logout_redirect_uris } : {}),
          ...(b.scope !== undefined ? { scope: b.scope } : {}),
          ...(b.resources ? { resources: b.resources } : {}),
        });
      },
    );
    app.post<{ Params: { id: string }; Body: { overlap?: string } }>(
      '/admin/clients/:id/secret',
      { preValidation: emptyBodyIsObject, schema: { params: idParam, body: { type: 'object', properties: { overlap: { type: 'string', maxLength: 20 } }, additionalProperties: false } } },
      async (request) => {
        const text = request.body?.overlap;
        const overlapSeconds = text === undefined ? undefined : parseDuration(text);
        if (text !== undefined && overlapSeconds === undefined) throw new AppError('invalid_request', `overlap: "${text}" is not a duration (e.g. "0", "3600", "30m", "24h", "7d")`);
        return rotateClientSecret(clientDeps, request.params.id, overlapSeconds === undefined ? {} : { overlapSeconds });
      },
    );
    app.delete<{ Params: { id: string } }>('/admin/clients/:id', async (request) => deleteClient(clientDeps, request.params.id));

    app.get('/admin/resources', async () => listResources(s));
    app.post<{ Body: { audience: string; scope?: string; ttl?: number; description?: string } }>(
      '/admin/resources',
      {
        schema: {
          body: {
            type: 'object',
            required: ['audience'],
            properties: {
              audience: { type: 'string', maxLength: 500 },
              scope: { type: 'string', maxLength: 2000 },
              ttl: { type: 'integer' },
              description: { type: 'string', maxLength: 500 },
            },
            additionalProperties: false,
          },
        },
      },
      async (request, reply) => reply.code(201).send(await createResource({ ...clientDeps }, request.body)),
    );
    // Addressed like DELETE: an audience is a URI, so it travels in the query string.
    app.patch<{ Querystring: { audience: string }; Body: { scope?: string; ttl?: number | null; description?: string | null } }>(
      '/admin/resources',
      {
        preValidation: emptyBodyIsObject,
        schema: {
          querystring: audienceQuery,
          body: {
            type: 'object',
            properties: {
              scope: { type: 'string', maxLength: 2000 },
              ttl: { type: 'integer', nullable: true },
              description: { type: 'string', nullable: true, maxLength: 500 },
            },
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        const b = request.body;
        return updateResource({ ...clientDeps }, request.query.audience, {
          ...(b.scope !== undefined ? { scope: b.scope } : {}),
          ...(b.ttl !== undefined ? { ttl: b.ttl } : {}),
          ...(b.description !== undefined ? { description: b.description } : {}),
        });
      },
    );
    app.delete<{ Querystring: { audience: string } }>(
      '/admin/resources',
      { schema: { querystring: audienceQuery } },
      async (request) => deleteResource({ ...clientDeps }, request.query.audience),
    );

    app.get('/admin/keys', async () => (await listSigningKeys(keyDeps)).keys);
    app.post<{ Body: { now?: boolean } }>(
      '/admin/keys/rotate',
      { schema: { body: { type: 'object', properties: { now: { type: 'boolean' } }, additionalProperties: false } } },
      async (request) => {
        const result = await rotateSigningKeys(keyDeps, { now: request.body?.now === true });
        await deps.reloadKeys();
        return result.keys;
      },
    );
    app.post<{ Body: { kid: string } }>(
      '/admin/keys/revoke',
      { schema: { body: { type: 'object', required: ['kid'], properties: { kid: { type: 'string', maxLength: 200 } }, additionalProperties: false } } },
      async (request) => {
        const result = await revokeSigningKey(keyDeps, request.body.kid);
        // An emergency: this instance stops signing with the key now, not at its next reload.
        await deps.reloadKeys();
        return result;
      },
    );
    app.post('/admin/keys/prune', async () => pruneSigningKeys(keyDeps));
  };
}
