import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createUser } from '../../accounts/create-user.js';
import { normalizeEmail } from '../../accounts/normalize.js';
import { ADMIN_SCOPE, adminAudience } from '../../admin/admin-resource.js';
import { queryAudit } from '../../admin/audit.js';
import { banDependencies, banIp, banUser, listIpBans, signOutUser, unbanIp, unbanUser, unlockUser, type BanDeps } from '../../admin/bans.js';
import { createClient, deleteClient, listClients, rotateClientSecret, showClient, updateClient } from '../../admin/clients.js';
import { listSigningKeys, pruneSigningKeys, revokeSigningKey, rotateSigningKeys } from '../../admin/keys.js';
import { createResource, deleteResource, listResources, updateResource } from '../../admin/resources.js';
import { revokeAccessToken } from '../../admin/tokens.js';
import { resetUserMfa } from '../../admin/mfa.js';
import { userView } from '../../admin/users.js';
import { AppError, notFound } from '../../errors.js';
import { parseDuration } from '../../lib/duration.js';
import type { Services } from '../../services.js';
import { readBearerHeader } from '../../verifier/authorization-header.js';
import { jsonErrors, Nullable, StringEnum } from '../schemas.js';

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

// Inputs. Query strings and URL params are coerced from text (`?limit=5` is 5), bodies are not.
const Limit = Type.Integer({ minimum: 1, maximum: 10000 });
const EmailParams = Type.Object({ email: Type.String({ maxLength: 320 }) });
const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });
const AudienceQuery = Type.Object({ audience: Type.String({ maxLength: 500 }) });
const OptionalReason = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });
const IpBody = Type.Object(
  { ip: Type.String({ maxLength: 100 }), for: Type.Optional(Type.String({ maxLength: 20 })), reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
const UriList = Type.Array(Type.String({ maxLength: 500 }), { maxItems: 20 });
const CreateClientBody = Type.Object(
  {
    name: Type.String({ maxLength: 200 }),
    redirect_uris: Type.Optional(UriList),
    post_logout_redirect_uris: Type.Optional(UriList),
    grant_types: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 4 })),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    resources: Type.Optional(UriList),
    introspects: Type.Optional(UriList),
    public: Type.Optional(Type.Boolean()),
    token_endpoint_auth_method: Type.Optional(StringEnum(['client_secret_basic', 'client_secret_post'])),
  },
  { additionalProperties: false },
);
const UpdateClientBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    redirect_uris: Type.Optional(UriList),
    post_logout_redirect_uris: Type.Optional(UriList),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    resources: Type.Optional(UriList),
  },
  { additionalProperties: false },
);

// Outputs: every field the use cases in src/admin return (the serializer drops unlisted ones).
const UserView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  status: Type.String(),
  email_verified: Type.Boolean(),
  password_disabled: Type.Boolean(),
  ban_reason: Nullable(Type.String()),
  banned_at: Nullable(Type.String()),
  created_at: Type.String(),
});
const IpBan = Type.Object({ ip: Type.String(), reason: Nullable(Type.String()), created_at: Type.String(), expires_at: Nullable(Type.String()) });
const AuditEvent = Type.Object({
  at: Type.String(),
  type: Type.String(),
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  email: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  user_id: Type.Optional(Type.String()),
  // Each event type has its own detail (src/observability/audit.ts): any JSON object, written as it is.
  detail: Type.Object({}, { additionalProperties: true }),
});
const clientFields = {
  client_id: Type.String(),
  client_name: Type.String(),
  public: Type.Boolean(),
  token_endpoint_auth_method: Type.String(),
  grant_types: Type.Array(Type.String()),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  scope: Nullable(Type.String()),
  resources: Type.Array(Type.String()),
  introspects: Type.Array(Type.String()),
  previous_secret_expires_at: Nullable(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
};
const ClientView = Type.Object(clientFields);
/** Shown once, at creation (confidential clients only). */
const CreatedClient = Type.Object({ ...clientFields, client_secret: Type.Optional(Type.String()) });
const Changed = { changed: Type.Array(Type.String()) };
const resourceFields = {
  audience: Type.String(),
  scopes: Type.Array(Type.String()),
  access_token_ttl: Nullable(Type.Integer()),
  description: Nullable(Type.String()),
  scope_descriptions: Type.Record(Type.String(), Type.String()),
  created_at: Type.String(),
};
/** scope → what it lets an app do, in words (consent page). */
const ScopeDescriptions = Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 200 }), { maxProperties: 100 });
const ResourceView = Type.Object(resourceFields);
const KeyView = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
  state: Type.String(),
  published_at: Type.String(),
  activates_at: Type.String(),
  retires_at: Nullable(Type.String()),
  removed_at: Nullable(Type.String()),
});

/** A 200 answer of this shape, or a JSON error. */
const ok = <T extends TSchema>(schema: T) => ({ 200: schema, ...jsonErrors });
const created = <T extends TSchema>(schema: T) => ({ 201: schema, ...jsonErrors });

/**
 * The admin API: what the CLI does, over HTTP, for an access token carrying `gatehouse:admin` for the
 * audience `$ISSUER/admin` (client credentials for a client created with that resource and scope).
 * The token is verified locally against our own keys on every request; it must be the client's own
 * (client credentials, not derived from a person's grant), and its client must still exist.
 */
export function adminRoutes(deps: AdminRouteDeps) {
  const s = deps.services;
  const audience = adminAudience(deps.issuer);

  /** The client each authenticated request acts for (the actor in the audit log). */
  const adminClients = new WeakMap<FastifyRequest, string>();
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
    adminClients.set(request, clientId);
  };
  const actor = (request: FastifyRequest) => `admin api (client ${adminClients.get(request)})`;
  const banDeps = (request: FastifyRequest): BanDeps =>
    banDependencies(s, actor(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
  const clientDeps = { clients: s.clients, resources: s.resources, audit: s.audit, clock: s.clock, atomically: s.atomically };
  const keyDeps = { config: s.config, resources: s.resources, audit: s.audit, clock: s.clock };
  // A request without a body (curl -X POST) means "no options": validated as {}.
  const emptyBodyIsObject = async (request: FastifyRequest) => {
    if (request.body === undefined) request.body = {};
  };

  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.addHook('preHandler', authenticate);
    app.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });

    app.get(
      '/admin/users',
      { schema: { querystring: Type.Object({ limit: Type.Optional(Limit), offset: Type.Optional(Type.Integer({ minimum: 0 })) }), response: ok(Type.Array(UserView)) } },
      async (request) => (await s.users.list({ limit: request.query.limit ?? 100, offset: request.query.offset ?? 0 })).map(userView),
    );
    app.post(
      '/admin/users',
      {
        schema: {
          body: Type.Object(
            { email: Type.String({ maxLength: 320 }), password: Type.String({ maxLength: 4096 }), verified: Type.Optional(Type.Boolean()) },
            { additionalProperties: false },
          ),
          response: created(UserView),
        },
      },
      async (request, reply) => reply.code(201).send(userView(await createUser(s, { email: request.body.email, password: request.body.password, verified: request.body.verified === true }))),
    );
    app.get('/admin/users/:email', { schema: { params: EmailParams, response: ok(UserView) } }, async (request) => {
      const user = await s.users.findByEmail(normalizeEmail(request.params.email));
      if (!user) throw notFound(`no user with email ${request.params.email}`);
      return userView(user);
    });
    app.post(
      '/admin/users/:email/ban',
      { schema: { params: EmailParams, body: OptionalReason, response: ok(Type.Object({ email: Type.String(), status: Type.String(), revoked: Type.Integer() })) } },
      async (request) => banUser(banDeps(request), request.params.email, request.body?.reason),
    );
    app.post(
      '/admin/users/:email/unban',
      { schema: { params: EmailParams, response: ok(Type.Object({ email: Type.String(), status: Type.String() })) } },
      async (request) => unbanUser(banDeps(request), request.params.email),
    );
    app.post(
      '/admin/users/:email/sign-out',
      { schema: { params: EmailParams, response: ok(Type.Object({ email: Type.String(), revoked: Type.Integer() })) } },
      async (request) => signOutUser(banDeps(request), request.params.email),
    );
    app.post(
      '/admin/users/:email/unlock',
      { schema: { params: EmailParams, response: ok(Type.Object({ email: Type.String(), unlocked: Type.Boolean() })) } },
      async (request) => unlockUser(banDeps(request), request.params.email),
    );
    app.post(
      '/admin/users/:email/mfa/reset',
      { schema: { params: EmailParams, response: ok(Type.Object({ email: Type.String(), totp_removed: Type.Boolean(), recovery_codes_removed: Type.Integer(), passkeys_removed: Type.Integer() })) } },
      async (request) => resetUserMfa(s, request.params.email, actor(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null }),
    );

    app.get('/admin/ips', { schema: { response: ok(Type.Array(IpBan)) } }, async () => listIpBans(s));
    app.post('/admin/ips/ban', { schema: { body: IpBody, response: ok(Type.Object({ ip: Type.String(), expires_at: Nullable(Type.String()) })) } }, async (request) => {
      const seconds = request.body.for === undefined ? undefined : parseDuration(request.body.for);
      if (request.body.for !== undefined && !seconds) throw new AppError('invalid_request', `for: "${request.body.for}" is not a duration`);
      return banIp(banDeps(request), request.body.ip, { ...(seconds ? { seconds } : {}), ...(request.body.reason ? { reason: request.body.reason } : {}) });
    });
    app.post(
      '/admin/ips/unban',
      { schema: { body: IpBody, response: ok(Type.Object({ ip: Type.String(), banned: Type.Boolean() })) } },
      async (request) => unbanIp(banDeps(request), request.body.ip),
    );

    app.post(
      '/admin/tokens/revoke',
      {
        schema: {
          body: Type.Object({ jti: Type.String({ maxLength: 4096 }), reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
          response: ok(Type.Object({ jti: Type.String(), revoked: Type.Boolean(), listed_until: Type.String() })),
        },
      },
      async (request) =>
        revokeAccessToken(
          { revocations: s.revocations, resources: s.resources, config: s.config, audit: s.audit, clock: s.clock, atomically: s.atomically, actor: actor(request), who: { ip: request.ip, userAgent: request.headers['user-agent'] ?? null } },
          request.body.jti,
          request.body.reason,
        ),
    );

    app.get(
      '/admin/audit',
      {
        schema: {
          querystring: Type.Object({
            user: Type.Optional(Type.String({ maxLength: 320 })),
            type: Type.Optional(Type.String({ maxLength: 60 })),
            since: Type.Optional(Type.String({ maxLength: 40 })),
            limit: Type.Optional(Limit),
          }),
          response: ok(Type.Array(AuditEvent)),
        },
      },
      async (request) => queryAudit(s.auditStore, request.query),
    );

    app.get('/admin/clients', { schema: { response: ok(Type.Array(ClientView)) } }, async () => listClients(s));
    app.get('/admin/clients/:id', { schema: { params: IdParams, response: ok(ClientView) } }, async (request) => showClient(s, request.params.id));
    app.post('/admin/clients', { schema: { body: CreateClientBody, response: created(CreatedClient) } }, async (request, reply) => {
      const b = request.body;
      const client = await createClient(clientDeps, {
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
      return reply.code(201).send(client);
    });
    app.patch(
      '/admin/clients/:id',
      { preValidation: emptyBodyIsObject, schema: { params: IdParams, body: UpdateClientBody, response: ok(Type.Object({ ...clientFields, ...Changed })) } },
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
    app.post(
      '/admin/clients/:id/secret',
      {
        preValidation: emptyBodyIsObject,
        schema: {
          params: IdParams,
          body: Type.Object({ overlap: Type.Optional(Type.String({ maxLength: 20 })) }, { additionalProperties: false }),
          response: ok(Type.Object({ client_id: Type.String(), client_secret: Type.String(), previous_secret_expires_at: Nullable(Type.String()) })),
        },
      },
      async (request) => {
        const text = request.body.overlap;
        const overlapSeconds = text === undefined ? undefined : parseDuration(text);
        if (text !== undefined && overlapSeconds === undefined) throw new AppError('invalid_request', `overlap: "${text}" is not a duration (e.g. "0", "3600", "30m", "24h", "7d")`);
        return rotateClientSecret(clientDeps, request.params.id, overlapSeconds === undefined ? {} : { overlapSeconds });
      },
    );
    app.delete(
      '/admin/clients/:id',
      { schema: { params: IdParams, response: ok(Type.Object({ client_id: Type.String(), deleted: Type.Boolean() })) } },
      async (request) => deleteClient(clientDeps, request.params.id),
    );

    app.get('/admin/resources', { schema: { response: ok(Type.Array(ResourceView)) } }, async () => listResources(s));
    app.post(
      '/admin/resources',
      {
        schema: {
          body: Type.Object(
            {
              audience: Type.String({ maxLength: 500 }),
              scope: Type.Optional(Type.String({ maxLength: 2000 })),
              ttl: Type.Optional(Type.Integer()),
              description: Type.Optional(Type.String({ maxLength: 500 })),
              scope_descriptions: Type.Optional(ScopeDescriptions),
            },
            { additionalProperties: false },
          ),
          response: created(ResourceView),
        },
      },
      async (request, reply) => {
        const { scope_descriptions: scopeDescriptions, ...rest } = request.body;
        return reply.code(201).send(await createResource({ ...clientDeps }, { ...rest, ...(scopeDescriptions ? { scopeDescriptions } : {}) }));
      },
    );
    // Addressed like DELETE: an audience is a URI, so it travels in the query string.
    app.patch(
      '/admin/resources',
      {
        preValidation: emptyBodyIsObject,
        schema: {
          querystring: AudienceQuery,
          body: Type.Object(
            {
              scope: Type.Optional(Type.String({ maxLength: 2000 })),
              ttl: Type.Optional(Nullable(Type.Integer())),
              description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
              scope_descriptions: Type.Optional(ScopeDescriptions),
            },
            { additionalProperties: false },
          ),
          response: ok(Type.Object({ ...resourceFields, ...Changed })),
        },
      },
      async (request) => {
        const b = request.body;
        return updateResource({ ...clientDeps }, request.query.audience, {
          ...(b.scope !== undefined ? { scope: b.scope } : {}),
          ...(b.ttl !== undefined ? { ttl: b.ttl } : {}),
          ...(b.description !== undefined ? { description: b.description } : {}),
          ...(b.scope_descriptions !== undefined ? { scopeDescriptions: b.scope_descriptions } : {}),
        });
      },
    );
    app.delete(
      '/admin/resources',
      { schema: { querystring: AudienceQuery, response: ok(Type.Object({ audience: Type.String(), deleted: Type.Boolean() })) } },
      async (request) => deleteResource({ ...clientDeps }, request.query.audience),
    );

    app.get('/admin/keys', { schema: { response: ok(Type.Array(KeyView)) } }, async () => (await listSigningKeys(keyDeps)).keys);
    app.post(
      '/admin/keys/rotate',
      { schema: { body: Type.Object({ now: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), response: ok(Type.Array(KeyView)) } },
      async (request) => {
        const result = await rotateSigningKeys(keyDeps, { now: request.body?.now === true });
        await deps.reloadKeys();
        return result.keys;
      },
    );
    app.post(
      '/admin/keys/revoke',
      {
        schema: {
          body: Type.Object({ kid: Type.String({ maxLength: 200 }) }, { additionalProperties: false }),
          response: ok(Type.Object({ revoked: Type.String(), replacement: Nullable(Type.String()), keys: Type.Array(KeyView) })),
        },
      },
      async (request) => {
        const result = await revokeSigningKey(keyDeps, request.body.kid);
        // An emergency: this instance stops signing with the key now, not at its next reload.
        await deps.reloadKeys();
        return result;
      },
    );
    app.post('/admin/keys/prune', { schema: { response: ok(Type.Object({ pruned: Type.Array(Type.String()) })) } }, async () => pruneSigningKeys(keyDeps));
  };
}
