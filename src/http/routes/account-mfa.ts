import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TProperties } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CurrentSession } from '../../accounts/account-sessions.js';
import {
  confirmTotpEnrolment,
  disableTotp,
  regenerateRecoveryCodes,
  secondFactorStatus,
  startTotpEnrolment,
  type SecondFactorDeps,
} from '../../accounts/mfa/second-factors.js';
import { reauthenticate, type SelfServiceDeps } from '../../accounts/self-service.js';
import type { MfaPolicy } from '../../config/schema.js';
import { AppError, FieldError } from '../../errors.js';
import type { Words } from '../../i18n/messages.js';
import { csrfToken, verifyCsrfToken } from '../../lib/csrf.js';
import { sha256 } from '../../lib/digest.js';
import { trustedDeviceFor } from '../../lib/device-cookie.js';
import { deviceOf } from '../device.js';
import { formSentence } from '../form-errors.js';
import { sendErrorPage } from '../plugins/error-handler.js';
import { requestContext } from '../request-context.js';
import { Empty, HtmlPage, StringEnum } from '../schemas.js';
import { accountMfaPage, qrSvg, recoveryCodesPage, totpEnrolPage } from '../views/mfa-pages.js';
import { ACCOUNT_LINK, messagePage } from '../views/message-pages.js';
import { sendPage, type Page } from '../views/page.js';

export interface AccountMfaDeps {
  selfService: SelfServiceDeps;
  secondFactors: SecondFactorDeps;
  requireMfa: MfaPolicy;
  currentSession(request: FastifyRequest, reply: FastifyReply): Promise<CurrentSession | undefined>;
  secrets: readonly string[];
  secureCookies: boolean;
}

const csrf = Type.String({ maxLength: 200 });
const form = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });
const CsrfBody = form({ csrf });
const CodeBody = form({ csrf, code: Type.String({ maxLength: 100 }) });
const DisableBody = form({ csrf, code: Type.Optional(Type.String({ maxLength: 100 })), password: Type.Optional(Type.String({ maxLength: 4096 })) });
const DONE = ['disabled'] as const;
const MfaQuery = Type.Object({ done: Type.Optional(StringEnum([...DONE])) });
const pageOnly = { 200: HtmlPage, 303: Empty, '4xx': HtmlPage, '5xx': HtmlPage } as const;

/**
 * The second-factor part of the account area (`/account/mfa`): set up an authenticator app (QR code
 * and key, confirmed by a code before it is on), see how many recovery codes are left and make new
 * ones, turn the app off (a current code or the password). Pages only, no script; authenticated by
 * the engine's browser session and the account page's CSRF token (account-page.ts).
 */
export function accountMfaRoutes(deps: AccountMfaDeps) {
  const { secrets } = deps;
  // The same CSRF key as the account page: its token works on these forms too.
  const csrfKey = (session: CurrentSession) => `account-page:${sha256(session.id)}`;
  const page = (reply: FastifyReply, status: number, body: Page) => sendPage(reply, status, body);
  const offered = deps.requireMfa !== 'off';

  const signedIn = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = await deps.currentSession(request, reply);
    if (!session) return undefined;
    const user = await deps.selfService.users.findById(session.accountId);
    return user && user.status === 'active' ? { session, user } : undefined;
  };
  const who = (request: FastifyRequest) => ({ ...requestContext(request), ip: request.ip });
  const ended = (reply: FastifyReply) => page(reply, 401, messagePage('account.session_ended.title', 'account.session_ended.sentence', { href: '/account', text: 'link.sign_in_again' }));

  const overview = async (reply: FastifyReply, status: number, s: { session: CurrentSession; user: { id: string; email: string } }, extra: { notice?: string; error?: Words } = {}) => {
    const st = await secondFactorStatus(deps.secondFactors, s.user.id);
    return page(reply, status, accountMfaPage({ csrf: csrfToken(secrets, csrfKey(s.session)), email: s.user.email, totp: st.totp, offered, recoveryCodesLeft: st.recoveryCodesLeft, ...extra }));
  };

  /** A POST of these forms: session, then CSRF token, then the action; a refusal shows the page again. */
  const post = <B extends { csrf: string }>(run: (s: NonNullable<Awaited<ReturnType<typeof signedIn>>>, body: B, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const s = await signedIn(request, reply);
      if (!s) return ended(reply);
      const body = request.body as B;
      if (!verifyCsrfToken(secrets, csrfKey(s.session), body.csrf)) return page(reply, 403, messagePage('refused.title', 'refused.account_form', ACCOUNT_LINK));
      try {
        return await run(s, body, request, reply);
      } catch (err) {
        if (!(err instanceof AppError) || err.statusCode >= 500) throw err;
        reply.headers(err.headers);
        const error = err instanceof FieldError && err.field === 'code' ? { key: 'second_factor.failed' } : (formSentence(err) ?? { key: `error.${err.code}`, fallback: err.message });
        return overview(reply, err.statusCode, s, { error });
      }
    };

  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler((error, request, reply) => sendErrorPage(request, reply, error));
    app.addHook('onSend', async (_request, reply, payload) => {
      // Secrets and recovery codes are on these pages: never cached.
      reply.header('cache-control', 'no-store');
      return payload;
    });

    app.get('/account/mfa', { schema: { querystring: MfaQuery, response: pageOnly } }, async (request, reply) => {
      const s = await signedIn(request, reply);
      if (!s) return reply.redirect('/account', 303);
      return overview(reply, 200, s, request.query.done ? { notice: 'account_mfa.totp.disabled' } : {});
    });

    app.get('/account/mfa/totp', { schema: { response: pageOnly } }, async (request, reply) => {
      const s = await signedIn(request, reply);
      if (!s) return reply.redirect('/account', 303);
      const status = await secondFactorStatus(deps.secondFactors, s.user.id);
      if (!offered || status.totp === 'enabled') return reply.redirect('/account/mfa', 303);
      const { secret, uri } = await startTotpEnrolment(deps.secondFactors, s.user);
      return page(reply, 200, totpEnrolPage({ csrf: csrfToken(secrets, csrfKey(s.session)), secret, qrSvg: await qrSvg(uri), action: '/account/mfa/totp/confirm', cancel: '/account/mfa' }));
    });

    app.post(
      '/account/mfa/totp/confirm',
      { schema: { body: CodeBody, response: pageOnly } },
      post<typeof CodeBody.static>(async (s, body, request, reply) => {
        if (!offered) return reply.redirect('/account/mfa', 303);
        try {
          const { recoveryCodes } = await confirmTotpEnrolment(deps.secondFactors, s.user, body.code, who(request));
          if (!recoveryCodes) return reply.redirect('/account/mfa', 303);
          return page(reply, 200, recoveryCodesPage({ codes: recoveryCodes, enabled: true }));
        } catch (err) {
          if (!(err instanceof FieldError)) throw err;
          const { secret, uri } = await startTotpEnrolment(deps.secondFactors, s.user);
          return page(reply, 400, totpEnrolPage({ csrf: body.csrf, secret, qrSvg: await qrSvg(uri), action: '/account/mfa/totp/confirm', cancel: '/account/mfa', error: { key: 'totp_enrol.failed' } }));
        }
      }),
    );

    app.post(
      '/account/mfa/totp/disable',
      { schema: { body: DisableBody, response: pageOnly } },
      post<typeof DisableBody.static>(async (s, body, request, reply) => {
        const trustedDevice = trustedDeviceFor(deviceOf(request, deps.secureCookies), s.user.email);
        const code = body.code?.trim();
        if (code) {
          await disableTotp(deps.secondFactors, s.user, { code }, who(request), trustedDevice);
        } else if (body.password) {
          await reauthenticate(deps.selfService, { user: s.user, sessionId: s.session.id, who: who(request), ...(trustedDevice ? { trustedDevice } : {}) }, body.password);
          await disableTotp(deps.secondFactors, s.user, { passwordChecked: true }, who(request));
        } else {
          return overview(reply, 400, s, { error: { key: 'account_mfa.totp.need_proof' } });
        }
        return reply.redirect('/account/mfa?done=disabled', 303);
      }),
    );

    app.post(
      '/account/mfa/recovery-codes',
      { schema: { body: CsrfBody, response: pageOnly } },
      post<typeof CsrfBody.static>(async (s, _body, request, reply) => {
        const codes = await regenerateRecoveryCodes(deps.secondFactors, s.user, who(request));
        return page(reply, 200, recoveryCodesPage({ codes, enabled: false }));
      }),
    );
  };
}
