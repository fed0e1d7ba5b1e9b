import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TProperties } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountDeps } from '../../accounts/account-deps.js';
import { login, type LoginDeps } from '../../accounts/login.js';
import { normalizeEmail } from '../../accounts/normalize.js';
import { signup } from '../../accounts/signup.js';
import { resendVerification } from '../../accounts/verify-email.js';
import { csrfToken, verifyCsrfToken } from '../../lib/csrf.js';
import { seal, unseal } from '../../lib/seal.js';
import type { AuditLog } from '../../observability/audit.js';
import { loginOutcomeLabel, throttleLabel } from '../../observability/metric-labels.js';
import type { Metrics } from '../../observability/metrics.js';
import { InteractionNotFound, type InteractionView, type Interactions } from '../../oidc/interactions.js';
import { formSentence } from '../form-errors.js';
import { trustedDeviceFor } from '../../lib/device-cookie.js';
import { deviceOf, rememberDevice } from '../device.js';
import { allowFormTarget } from '../plugins/page-headers.js';
import { rateLimit, type RateLimitDeps } from '../rate-limit.js';
import { requestContext } from '../request-context.js';
import { rememberInteraction } from '../return-to-interaction.js';
import { Empty, HtmlPage, pageErrors, StringEnum } from '../schemas.js';
import { type ApiWords, checkInboxPage, consentPage, loginPage, resentPage, signupPage, unverifiedPage } from '../views/interaction-pages.js';
import { ACCOUNT_LINK, messagePage } from '../views/message-pages.js';

export interface InteractionRouteDeps {
  interactions: Interactions;
  accounts: AccountDeps;
  /** The guarded login (accounts/login.ts) with its dependencies. */
  login: LoginDeps;
  limits: RateLimitDeps;
  audit: AuditLog;
  metrics: Metrics;
  secrets: readonly string[];
  /** Cookies get `Secure` (the issuer is https). */
  secureCookies: boolean;
  /** An API's words for the consent page (its description and per-scope descriptions). */
  apiWords(audience: string): Promise<ApiWords | undefined>;
}

const GENERIC_FAILURE = 'The email or password is not correct.';

/** "30 seconds", "4 minutes", "2 hours". */
export function waitPhrase(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  if (seconds < 90 * 60) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.ceil(seconds / 3600)} hours`;
}
/** How long the "send the link again" button of the unverified page works (an interaction's lifetime). */
const RESEND_TICKET_SECONDS = 30 * 60;

const UidParams = Type.Object({ uid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

const csrf = Type.String({ maxLength: 200 });
const email = Type.String({ maxLength: 320 });
const password = Type.String({ maxLength: 4096 });
/** A form of our pages: every field required, nothing else. */
const form = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });

const CsrfBody = form({ csrf });
const CredentialsBody = form({ csrf, email, password });
const ResendBody = form({ csrf, ticket: Type.String({ maxLength: 1000 }) });
const ConfirmBody = form({ csrf, remember: Type.Optional(StringEnum(['yes'])) });

/** Everything here answers with a page (errors too: the scope's handler is sendErrorPage) or a 303. */
const pageResponses = { 200: HtmlPage, 303: Empty, ...pageErrors } as const;

/**
 * The pages of an authorization request (oidc-provider hands over at /interaction/:uid and gets the
 * result back): login, signup, "confirm your address first", consent. Plain HTML forms, no script,
 * a CSRF token bound to the interaction on every form.
 */
export function interactionRoutes(deps: InteractionRouteDeps) {
  const { accounts } = deps;
  const csrfFor = (uid: string) => csrfToken(deps.secrets, `interaction:${uid}`);
  const checkCsrf = (uid: string, token: unknown) => verifyCsrfToken(deps.secrets, `interaction:${uid}`, token);
  const page = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);
  const expired = (reply: FastifyReply) =>
    page(
      reply,
      400,
      messagePage('Sign-in expired', 'This sign-in request has expired or was already completed. Go back to the application and sign in again from there.', ACCOUNT_LINK),
    );
  const forged = (reply: FastifyReply, uid: string) =>
    page(
      reply,
      403,
      messagePage('Request refused', 'This form was not sent from this sign-in page, so nothing was done. Open the sign-in page again and retry.', [
        { href: `/interaction/${uid}`, text: 'Back to sign in' },
        ACCOUNT_LINK,
      ]),
    );

  /** The pending interaction, or undefined after the "expired" page was sent. */
  const viewOf = async (request: FastifyRequest, reply: FastifyReply): Promise<InteractionView | undefined> => {
    try {
      const view = await deps.interactions.view(request.raw, reply.raw);
      // Every form of these pages ends, through our redirects, at the app's redirect_uri.
      allowFormTarget(reply, view.returnTo);
      return view;
    } catch (err) {
      if (err instanceof InteractionNotFound) {
        expired(reply);
        return undefined;
      }
      throw err;
    }
  };

  /** "Send the link again" must only work for whoever just proved the password: a sealed, expiring
   * note of the account, bound to this interaction. */
  const ticketFor = (uid: string, userId: string) =>
    seal(JSON.stringify({ sub: userId, uid, exp: Math.floor(accounts.clock.now().getTime() / 1000) + RESEND_TICKET_SECONDS }), deps.secrets, 'resend-verification');
  const ticketUser = (uid: string, ticket: string): string | undefined => {
    const opened = unseal(ticket, deps.secrets, 'resend-verification');
    if (!opened) return undefined;
    const note = JSON.parse(opened) as { sub: string; uid: string; exp: number };
    return note.uid === uid && note.exp > accounts.clock.now().getTime() / 1000 ? note.sub : undefined;
  };

  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.get('/interaction/:uid', { schema: { params: UidParams, response: pageResponses } }, async (request, reply) => {
      const view = await viewOf(request, reply);
      if (!view) return reply;
      if (view.prompt === 'login') {
        return page(reply, 200, loginPage({ uid: view.uid, csrf: csrfFor(view.uid), clientName: view.clientName, email: view.loginHint }));
      }
      if (view.prompt === 'consent') {
        const user = view.accountId ? await accounts.users.findById(view.accountId) : undefined;
        const apis = Object.fromEntries(await Promise.all(Object.keys(view.apiScopes).map(async (api) => [api, await deps.apiWords(api)] as const)));
        return page(reply, 200, consentPage({ view, csrf: csrfFor(view.uid), email: user?.email, apis }));
      }
      return page(reply, 400, messagePage('Cannot continue', 'This sign-in request asks for a step this server does not offer. Go back to the application and try again.', ACCOUNT_LINK));
    });

    app.post(
      '/interaction/:uid/login',
      { schema: { params: UidParams, body: CredentialsBody, response: pageResponses } },
      async (request, reply) => {
        const { uid } = request.params;
        if (!checkCsrf(uid, request.body.csrf)) return forged(reply, request.params.uid);
        const view = await viewOf(request, reply);
        if (!view) return reply;
        const typed = request.body.email.trim();
        const device = deviceOf(request, deps.secureCookies);
        const result = await login(deps.login, {
          email: typed,
          password: request.body.password,
          who: { ...requestContext(request), ip: request.ip },
          trustedDevice: trustedDeviceFor(device, typed),
          clientId: view.clientId,
        });

        if (result.ok) {
          deps.metrics.logins.inc({ outcome: 'success' });
          rememberDevice(reply, deps.secureCookies, device, result.user.email);
          const to = await deps.interactions.finishLogin(request.raw, reply.raw, result.user.id);
          return reply.redirect(to, 303);
        }
        deps.metrics.logins.inc({ outcome: loginOutcomeLabel(result.reason === 'refused' ? result.refusal : result.reason) });
        if (result.reason === 'refused') {
          deps.metrics.throttles.inc({ reason: throttleLabel(result.refusal) });
          if (result.retryAfter > 0) reply.header('retry-after', String(result.retryAfter));
          const error =
            result.refusal === 'ip_banned'
              ? 'Sign-in from this network is blocked.'
              : `Too many sign-in attempts. Try again in ${waitPhrase(result.retryAfter)}.`;
          return page(reply, result.refusal === 'ip_banned' ? 403 : 429, loginPage({ uid, csrf: csrfFor(uid), clientName: view.clientName, email: typed, error }));
        }
        if (result.reason === 'unverified') {
          return page(reply, 403, unverifiedPage({ uid, csrf: csrfFor(uid), ticket: ticketFor(uid, result.user.id), email: result.user.email }));
        }
        // Only someone who typed the right password learns about a ban or a disabled password
        // (docs/architecture.md); everyone else sees one message.
        const error =
          result.reason === 'banned'
            ? 'This account is disabled. If you think this is a mistake, contact support.'
            : result.reason === 'password_disabled'
              ? 'This password was disabled after too many failed sign-ins. Choose a new one with “Forgot your password?”.'
              : GENERIC_FAILURE;
        const status = result.reason === 'invalid_credentials' ? 401 : 403;
        return page(reply, status, loginPage({ uid, csrf: csrfFor(uid), clientName: view.clientName, email: typed, error }));
      },
    );

    app.get('/interaction/:uid/signup', { schema: { params: UidParams, response: pageResponses } }, async (request, reply) => {
      const view = await viewOf(request, reply);
      if (!view) return reply;
      if (view.prompt !== 'login') return reply.redirect(`/interaction/${view.uid}`, 303);
      return page(reply, 200, signupPage({ uid: view.uid, csrf: csrfFor(view.uid), clientName: view.clientName, email: view.loginHint }));
    });

    app.post(
      '/interaction/:uid/signup',
      { schema: { params: UidParams, body: CredentialsBody, response: pageResponses }, preHandler: rateLimit('signup', deps.limits) },
      async (request, reply) => {
        const { uid } = request.params;
        if (!checkCsrf(uid, request.body.csrf)) return forged(reply, request.params.uid);
        const view = await viewOf(request, reply);
        if (!view) return reply;
        try {
          await signup(accounts, request.body, requestContext(request));
        } catch (err) {
          const error = formSentence(err);
          if (!error) throw err;
          return page(reply, 400, signupPage({ uid, csrf: csrfFor(uid), clientName: view.clientName, email: request.body.email.trim(), error }));
        }
        deps.metrics.accountEvents.inc({ event: 'signup' });
        rememberInteraction(reply, uid, deps.secureCookies);
        return page(reply, 200, checkInboxPage({ uid, email: normalizeEmail(request.body.email) }));
      },
    );

    app.post(
      '/interaction/:uid/resend',
      { schema: { params: UidParams, body: ResendBody, response: pageResponses } },
      async (request, reply) => {
        const { uid } = request.params;
        if (!checkCsrf(uid, request.body.csrf)) return forged(reply, request.params.uid);
        const userId = ticketUser(uid, request.body.ticket);
        if (!userId) return forged(reply, request.params.uid);
        await resendVerification(accounts, userId, requestContext(request));
        rememberInteraction(reply, uid, deps.secureCookies);
        return page(reply, 200, resentPage({ uid }));
      },
    );

    app.post(
      '/interaction/:uid/confirm',
      { schema: { params: UidParams, body: ConfirmBody, response: pageResponses } },
      async (request, reply) => {
        if (!checkCsrf(request.params.uid, request.body.csrf)) return forged(reply, request.params.uid);
        try {
          const view = await deps.interactions.view(request.raw, reply.raw);
          const remember = request.body.remember === 'yes';
          const to = await deps.interactions.finishConsent(request.raw, reply.raw, { remember });
          await deps.audit.record({
            type: 'consent.granted',
            ...requestContext(request),
            userId: view.accountId ?? null,
            clientId: view.clientId,
            detail: { scopes: view.scopes, apis: view.apiScopes, remember },
          });
          return reply.redirect(to, 303);
        } catch (err) {
          if (err instanceof InteractionNotFound) return expired(reply);
          throw err;
        }
      },
    );

    app.post('/interaction/:uid/abort', { schema: { params: UidParams, body: CsrfBody, response: pageResponses } }, async (request, reply) => {
      if (!checkCsrf(request.params.uid, request.body.csrf)) return forged(reply, request.params.uid);
      try {
        const view = await deps.interactions.view(request.raw, reply.raw);
        const to = await deps.interactions.abort(request.raw, reply.raw);
        await deps.audit.record({ type: 'consent.denied', ...requestContext(request), userId: view.accountId ?? null, clientId: view.clientId });
        return reply.redirect(to, 303);
      } catch (err) {
        if (err instanceof InteractionNotFound) return expired(reply);
        throw err;
      }
    });
  };
}
