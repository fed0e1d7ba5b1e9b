import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TProperties } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountDeps } from '../../accounts/account-deps.js';
import { checkOneTimeToken, TOKEN_PROBLEMS, type TokenProblem } from '../../accounts/check-token.js';
import { requestPasswordReset, resetPassword } from '../../accounts/password-reset.js';
import { signup } from '../../accounts/signup.js';
import { verifyEmail } from '../../accounts/verify-email.js';
import { AppError, type ErrorCode } from '../../errors.js';
import { csrfToken, verifyCsrfToken } from '../../lib/csrf.js';
import { sha256 } from '../../lib/digest.js';
import type { Metrics } from '../../observability/metrics.js';
import { formSentence } from '../form-errors.js';
import { sendError, sendErrorPage } from '../plugins/error-handler.js';
import { isFormRequest } from '../plugins/strict-input.js';
import { rateLimit, type RateLimitDeps } from '../rate-limit.js';
import { requestContext } from '../request-context.js';
import { rememberedInteraction, rememberInteraction } from '../return-to-interaction.js';
import { Empty, ErrorBody, HtmlPage } from '../schemas.js';
import {
  confirmEmailPage,
  emailConfirmedPage,
  forgotPasswordPage,
  linkProblemPage,
  passwordChangedPage,
  resetPasswordPage,
  resetSentPage,
} from '../views/account-pages.js';
import { ACCOUNT_LINK, messagePage, type PageLink } from '../views/message-pages.js';
import { sendPage, type Page } from '../views/page.js';

export interface AccountRouteDeps {
  accounts: AccountDeps;
  limits: RateLimitDeps;
  metrics: Metrics;
  secrets: readonly string[];
  /** Cookies get `Secure` (the issuer is https). */
  secureCookies: boolean;
}

export const SIGNUP_ACCEPTED = 'Check your inbox: we sent a message to this address. Open the link in it to confirm the address.';
export const RESET_REQUESTED = 'If this address belongs to an account, we sent a link to it to choose a new password.';

const TOKEN_ERRORS: Record<TokenProblem, ErrorCode> = { invalid: 'link_invalid', used: 'token_used', expired: 'token_expired' };

const Accepted = Type.Object({ message: Type.String() });

const email = Type.String({ maxLength: 320 });
/** The policy says why beyond 128 characters; this bound only caps the work a body can ask for. */
const password = Type.String({ maxLength: 4096 });
const token = Type.String({ maxLength: 200 });
const csrf = Type.String({ maxLength: 200 });
const strictObject = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });

const SignupBody = strictObject({ email, password });
/** `csrf` comes with the forms of our pages; JSON clients leave it out. */
const TokenBody = strictObject({ token, csrf: Type.Optional(csrf) });
const ForgotBody = strictObject({ email });
const ResetBody = strictObject({ token, password, csrf: Type.Optional(csrf) });
const TokenQuery = Type.Object({ token: Type.Optional(token) });
const ForgotQuery = Type.Object({ interaction: Type.Optional(Type.String({ maxLength: 200 })) });

/**
 * A POST answers JSON to JSON (202 `{ message }`, 204, `{ error, error_description }`) and a page to
 * a form (200, 4xx pages); the pages are strings, which the serializer leaves alone, so a status
 * shared by both kinds is declared with its JSON shape. A GET answers with a page, errors included.
 */
const jsonOrPage = { 200: HtmlPage, '4xx': ErrorBody, '5xx': ErrorBody } as const;
const pageOnly = { 200: HtmlPage, '4xx': HtmlPage, '5xx': HtmlPage } as const;

/**
 * The account API (JSON, see README) and the pages behind the mailed links. A POST answers in the
 * kind it was asked in: JSON in, JSON out (202/204, or `{ error, error_description }`); a form from
 * one of our pages in, a page out. Handlers stay thin: each use case is one function in
 * src/accounts that the guard (the Defense issue) can wrap.
 */
export function accountRoutes(deps: AccountRouteDeps) {
  const { accounts, metrics, secrets } = deps;
  const page = (reply: FastifyReply, status: number, body: Page) => sendPage(reply, status, body);
  /** Form tokens for the link pages are bound to the mailed token (never to a guessable key). */
  const formKey = (purpose: string, value: string) => `account:${purpose}:${sha256(value)}`;
  const continueLink = (request: FastifyRequest): PageLink | undefined => {
    const uid = rememberedInteraction(request);
    return uid ? { href: `/interaction/${uid}`, text: 'link.continue_signing_in' } : undefined;
  };
  const forged = (reply: FastifyReply) =>
    page(reply, 403, messagePage('refused.title', 'refused.link_form_nothing_done', ACCOUNT_LINK));
  const tokenError = (reason: TokenProblem) => new AppError(TOKEN_ERRORS[reason], TOKEN_PROBLEMS[reason]);
  const askAgain: PageLink = { href: '/account/password/forgot', text: 'link.ask_again' };

  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler((error, request, reply) =>
      request.method === 'GET' || isFormRequest(request) ? sendErrorPage(request, reply, error) : sendError(request, reply, error),
    );
    // Nothing here may be cached: pages hold live tokens, answers are per request.
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });

    app.post(
      '/account/signup',
      { schema: { body: SignupBody, response: { 202: Accepted, '4xx': ErrorBody, '5xx': ErrorBody } }, preHandler: rateLimit('signup', deps.limits) },
      async (request, reply) => {
        if (isFormRequest(request)) {
          throw new AppError('unsupported_media_type', 'Send the signup as JSON; people sign up from the sign-in page.');
        }
        await signup(accounts, request.body, requestContext(request));
        metrics.accountEvents.inc({ event: 'signup' });
        return reply.code(202).send({ message: SIGNUP_ACCEPTED });
      },
    );

    app.get('/account/verify-email', { schema: { querystring: TokenQuery, response: pageOnly } }, async (request, reply) => {
      const { token: value } = request.query;
      const check = await checkOneTimeToken(accounts, value, 'verify_email');
      if (!check.ok) return page(reply, 400, linkProblemPage([{ key: `token.${check.reason}` }, { key: 'token.verify_again' }], continueLink(request) ?? ACCOUNT_LINK));
      return page(reply, 200, confirmEmailPage({ token: value!, csrf: csrfToken(secrets, formKey('verify', value!)) }));
    });

    app.post(
      '/account/verify-email',
      { schema: { body: TokenBody, response: { ...jsonOrPage, 204: Empty } } },
      async (request, reply) => {
        const form = isFormRequest(request);
        const { token: value } = request.body;
        if (form && !verifyCsrfToken(secrets, formKey('verify', value), request.body.csrf)) return forged(reply);
        const result = await verifyEmail(accounts, value, requestContext(request));
        if (!result.ok) {
          if (!form) throw tokenError(result.reason);
          return page(reply, 400, linkProblemPage([{ key: `token.${result.reason}` }, { key: 'token.verify_again' }], continueLink(request) ?? ACCOUNT_LINK));
        }
        metrics.accountEvents.inc({ event: 'email_verified' });
        return form ? page(reply, 200, emailConfirmedPage(continueLink(request))) : reply.code(204).send();
      },
    );

    app.get('/account/password/forgot', { schema: { querystring: ForgotQuery, response: pageOnly } }, async (request, reply) => {
      if (request.query.interaction) rememberInteraction(reply, request.query.interaction, deps.secureCookies);
      return page(reply, 200, forgotPasswordPage({}));
    });

    app.post(
      '/account/password/forgot',
      { schema: { body: ForgotBody, response: { ...jsonOrPage, 202: Accepted } }, preHandler: rateLimit('reset', deps.limits) },
      async (request, reply) => {
        const form = isFormRequest(request);
        try {
          await requestPasswordReset(accounts, request.body, requestContext(request));
        } catch (err) {
          const sentence = form ? formSentence(err) : undefined;
          if (sentence) return page(reply, 400, forgotPasswordPage({ email: request.body.email, error: sentence }));
          throw err;
        }
        metrics.accountEvents.inc({ event: 'reset_requested' });
        return form ? page(reply, 200, resetSentPage(request.body.email.trim())) : reply.code(202).send({ message: RESET_REQUESTED });
      },
    );

    app.get('/account/password/reset', { schema: { querystring: TokenQuery, response: pageOnly } }, async (request, reply) => {
      const { token: value } = request.query;
      const check = await checkOneTimeToken(accounts, value, 'reset_password');
      if (!check.ok) return page(reply, 400, linkProblemPage(`token.${check.reason}`, askAgain));
      return page(reply, 200, resetPasswordPage({ token: value!, csrf: csrfToken(secrets, formKey('reset', value!)) }));
    });

    app.post(
      '/account/password/reset',
      { schema: { body: ResetBody, response: { ...jsonOrPage, 204: Empty } } },
      async (request, reply) => {
        const form = isFormRequest(request);
        const { token: value, password: typed } = request.body;
        if (form && !verifyCsrfToken(secrets, formKey('reset', value), request.body.csrf)) return forged(reply);
        let result;
        try {
          result = await resetPassword(accounts, { token: value, password: typed }, requestContext(request));
        } catch (err) {
          const sentence = form ? formSentence(err) : undefined;
          if (sentence) return page(reply, 400, resetPasswordPage({ token: value, csrf: request.body.csrf!, error: sentence }));
          throw err;
        }
        if (!result.ok) {
          if (!form) throw tokenError(result.reason);
          return page(reply, 400, linkProblemPage(`token.${result.reason}`, askAgain));
        }
        metrics.accountEvents.inc({ event: 'password_reset' });
        return form ? page(reply, 200, passwordChangedPage(continueLink(request))) : reply.code(204).send();
      },
    );
  };
}
