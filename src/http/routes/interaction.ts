import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type AuthenticateDeps } from '../../accounts/authenticate.js';
import { normalizeEmail } from '../../accounts/normalize.js';
import { csrfToken, verifyCsrfToken } from '../../lib/csrf.js';
import type { AuditLog } from '../../observability/audit.js';
import type { Metrics } from '../../observability/metrics.js';
import { InteractionNotFound, type Interactions } from '../../oidc/interactions.js';
import { consentPage, loginPage, messagePage } from '../views/interaction-pages.js';

export interface InteractionRouteDeps {
  interactions: Interactions;
  accounts: AuthenticateDeps;
  audit: AuditLog;
  metrics: Metrics;
  secrets: readonly string[];
}

const GENERIC_FAILURE = 'The email or password is not correct.';

const uidParams = {
  type: 'object',
  required: ['uid'],
  properties: { uid: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
} as const;

const csrfBody = {
  type: 'object',
  required: ['csrf'],
  properties: { csrf: { type: 'string', maxLength: 200 } },
} as const;

const loginBody = {
  type: 'object',
  required: ['csrf', 'email', 'password'],
  properties: {
    csrf: { type: 'string', maxLength: 200 },
    email: { type: 'string', maxLength: 320 },
    password: { type: 'string', maxLength: 4096 },
  },
} as const;

type Uid = { Params: { uid: string } };

/**
 * The login and consent steps of an authorization request (oidc-provider hands over at
 * /interaction/:uid and gets the result back). Plain HTML forms, no script, CSRF token per interaction.
 */
export function interactionRoutes(deps: InteractionRouteDeps) {
  const csrf = (uid: string) => csrfToken(deps.secrets, `interaction:${uid}`);
  const checkCsrf = (uid: string, token: unknown) => verifyCsrfToken(deps.secrets, `interaction:${uid}`, token);
  const page = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);
  const expired = (reply: FastifyReply) =>
    page(reply, 400, messagePage('Sign-in expired', 'This sign-in request has expired or was already completed. Go back to the application and start again.'));
  const forged = (reply: FastifyReply) =>
    page(reply, 403, messagePage('Request refused', 'This form was not sent from this sign-in page. Go back to the application and start again.'));
  const who = (request: FastifyRequest) => ({ ip: request.ip, userAgent: request.headers['user-agent'] ?? null });

  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<Uid>('/interaction/:uid', { schema: { params: uidParams } }, async (request, reply) => {
      try {
        const view = await deps.interactions.view(request.raw, reply.raw);
        if (view.prompt === 'login') {
          return page(reply, 200, loginPage({ uid: view.uid, csrf: csrf(view.uid), clientName: view.clientName, email: view.loginHint }));
        }
        if (view.prompt === 'consent') return page(reply, 200, consentPage({ view, csrf: csrf(view.uid) }));
        return page(reply, 400, messagePage('Cannot continue', 'This sign-in request asks for a step this server does not offer.'));
      } catch (err) {
        if (err instanceof InteractionNotFound) return expired(reply);
        throw err;
      }
    });

    app.post<Uid & { Body: { csrf: string; email: string; password: string } }>(
      '/interaction/:uid/login',
      { schema: { params: uidParams, body: loginBody } },
      async (request, reply) => {
        const { uid } = request.params;
        if (!checkCsrf(uid, request.body.csrf)) return forged(reply);
        let view;
        try {
          view = await deps.interactions.view(request.raw, reply.raw);
        } catch (err) {
          if (err instanceof InteractionNotFound) return expired(reply);
          throw err;
        }
        const typed = request.body.email.trim();
        let email: string | undefined;
        try {
          email = normalizeEmail(typed);
        } catch {
          email = undefined;
        }
        const result = email
          ? await authenticate(deps.accounts, email, request.body.password)
          : (await deps.accounts.hasher.burn(request.body.password), { ok: false as const, reason: 'invalid_credentials' as const });

        if (result.ok) {
          deps.metrics.logins.inc({ outcome: 'success' });
          await deps.audit.record({ type: 'login.succeeded', ...who(request), userId: result.user.id, email: result.user.email, clientId: view.clientId });
          const to = await deps.interactions.finishLogin(request.raw, reply.raw, result.user.id);
          return reply.redirect(to, 303);
        }
        deps.metrics.logins.inc({ outcome: result.reason });
        await deps.audit.record({
          type: 'login.failed',
          ...who(request),
          email: email ?? null,
          userId: 'user' in result ? result.user.id : null,
          clientId: view.clientId,
          detail: { reason: result.reason },
        });
        const error =
          result.reason === 'banned'
            ? 'This account is disabled.'
            : result.reason === 'unverified'
              ? 'Confirm your email address first: open the link in the message we sent you.'
              : GENERIC_FAILURE;
        const status = result.reason === 'invalid_credentials' ? 401 : 403;
        return page(reply, status, loginPage({ uid, csrf: csrf(uid), clientName: view.clientName, email: typed, error }));
      },
    );

    app.post<Uid & { Body: { csrf: string } }>('/interaction/:uid/confirm', { schema: { params: uidParams, body: csrfBody } }, async (request, reply) => {
      if (!checkCsrf(request.params.uid, request.body.csrf)) return forged(reply);
      try {
        const view = await deps.interactions.view(request.raw, reply.raw);
        const to = await deps.interactions.finishConsent(request.raw, reply.raw);
        await deps.audit.record({ type: 'consent.granted', ...who(request), userId: view.accountId ?? null, clientId: view.clientId, detail: { scopes: view.scopes, apis: view.apiScopes } });
        return reply.redirect(to, 303);
      } catch (err) {
        if (err instanceof InteractionNotFound) return expired(reply);
        throw err;
      }
    });

    app.post<Uid & { Body: { csrf: string } }>('/interaction/:uid/abort', { schema: { params: uidParams, body: csrfBody } }, async (request, reply) => {
      if (!checkCsrf(request.params.uid, request.body.csrf)) return forged(reply);
      try {
        const view = await deps.interactions.view(request.raw, reply.raw);
        const to = await deps.interactions.abort(request.raw, reply.raw);
        await deps.audit.record({ type: 'consent.denied', ...who(request), userId: view.accountId ?? null, clientId: view.clientId });
        return reply.redirect(to, 303);
      } catch (err) {
        if (err instanceof InteractionNotFound) return expired(reply);
        throw err;
      }
    });
  };
}
