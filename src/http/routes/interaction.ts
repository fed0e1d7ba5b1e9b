import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TProperties } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountDeps } from '../../accounts/account-deps.js';
import { login, type LoginDeps } from '../../accounts/login.js';
import { hashingSaturated } from '../../accounts/password-hasher.js';
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
import { createRefusalPace } from '../refusal-pace.js';
import { requestContext } from '../request-context.js';
import { rememberInteraction } from '../return-to-interaction.js';
import { Empty, ErrorBody, HtmlPage, pageErrors, StringEnum } from '../schemas.js';
import { type ApiWords, checkInboxPage, consentPage, loginPage, resentPage, signupPage, unverifiedPage } from '../views/interaction-pages.js';
import { ACCOUNT_LINK, messagePage } from '../views/message-pages.js';
import { sendPage, type Page } from '../views/page.js';
import type { Words } from '../../i18n/messages.js';
import { checkSecondFactor, confirmTotpEnrolment, secondFactorStatus, startTotpEnrolment, type SecondFactorDeps } from '../../accounts/mfa/second-factors.js';
import type { MfaPolicy } from '../../config/schema.js';
import type { User } from '../../accounts/users.js';
import { ACR_MFA } from '../../oidc/acr.js';
import { qrSvg, recoveryCodesPage, secondFactorPage, totpEnrolPage } from '../views/mfa-pages.js';
import type { PasskeyDeps } from '../../accounts/passkeys/passkey-deps.js';
import { identify, startAuthentication, verifyPasskey } from '../../accounts/passkeys/verify-passkey.js';
import { AppError, FieldError } from '../../errors.js';
import { sendError } from '../plugins/error-handler.js';

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
  /** Second factors (accounts/mfa/) and REQUIRE_MFA. */
  secondFactors: SecondFactorDeps;
  requireMfa: MfaPolicy;
  /** Passkeys, one of which may be the second factor after the password (accounts/passkeys/). */
  passkeys: PasskeyDeps;
  /** An API's words for the consent page (its description and per-scope descriptions). */
  apiWords(audience: string): Promise<ApiWords | undefined>;
}

/** "Too many sign-in attempts. Try again in 30 seconds / 4 minutes / 2 hours." (message keys login.throttled.*) */
export function waitWords(seconds: number): Words {
  if (seconds < 90) return { key: seconds === 1 ? 'login.throttled.second' : 'login.throttled.seconds', vars: { n: seconds } };
  if (seconds < 90 * 60) return { key: 'login.throttled.minutes', vars: { n: Math.ceil(seconds / 60) } };
  return { key: 'login.throttled.hours', vars: { n: Math.ceil(seconds / 3600) } };
}
/** How long the second step may take once the password was right. */
const SECOND_STEP_SECONDS = 10 * 60;
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
const ticket = Type.String({ maxLength: 1000 });
const SecondFactorBody = form({ csrf, ticket, code: Type.String({ maxLength: 100 }) });
const TicketBody = form({ csrf, ticket });
const PasskeyStepBody = form({ csrf, ticket, credential: Type.String({ maxLength: 12_000 }) });
/** The options for navigator.credentials.get(), as @simplewebauthn/server writes them. */
const PasskeyOptions = Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredentialRequestOptionsJSON' });
/** What a passkey challenge of the second step is bound to: this interaction. */
const secondStepBinding = (uid: string) => `passkey-second-factor:${uid}`;

/** Everything here answers with a page (errors too: the scope's handler is sendErrorPage) or a 303. */
const pageResponses = { 200: HtmlPage, 303: Empty, ...pageErrors } as const;

/**
 * The pages of an authorization request (oidc-provider hands over at /interaction/:uid and gets the
 * result back): login, signup, "confirm your address first", consent. Plain HTML forms, no script,
 * a CSRF token bound to the interaction on every form.
 */
export function interactionRoutes(deps: InteractionRouteDeps) {
  const { accounts } = deps;
  const refusals = createRefusalPace();
  const csrfFor = (uid: string) => csrfToken(deps.secrets, `interaction:${uid}`);
  const checkCsrf = (uid: string, token: unknown) => verifyCsrfToken(deps.secrets, `interaction:${uid}`, token);
  // The pages (and the mails they cause) speak the languages the authorization request asked for.
  const uiLocales = new WeakMap<FastifyRequest, string | undefined>();
  const page = (reply: FastifyReply, status: number, body: Page) => sendPage(reply, status, body, uiLocales.get(reply.request));
  const who = (request: FastifyRequest) => requestContext(request, uiLocales.get(request));
  const expired = (reply: FastifyReply) =>
    page(
      reply,
      400,
      messagePage('interaction.expired.title', 'interaction.expired.sentence', ACCOUNT_LINK),
    );
  const forged = (reply: FastifyReply, uid: string) =>
    page(
      reply,
      403,
      messagePage('refused.title', 'refused.interaction_form', [
        { href: `/interaction/${uid}`, text: 'link.back_to_sign_in' },
        ACCOUNT_LINK,
      ]),
    );

  /** The pending interaction, or undefined after the "expired" page was sent. */
  const viewOf = async (request: FastifyRequest, reply: FastifyReply): Promise<InteractionView | undefined> => {
    try {
      const view = await deps.interactions.view(request.raw, reply.raw);
      uiLocales.set(request, view.uiLocales);
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

  /**
   * The password was right, the sign-in is not finished: which step comes next, for which account, as
   * a sealed, expiring note bound to this interaction (the server keeps nothing). `second_factor`:
   * a code is due; `enrol`: REQUIRE_MFA=required and the account has no factor yet; `enrolled`: the
   * app was just confirmed (a code was proved) and the recovery codes are on screen.
   */
  type Step = 'second_factor' | 'enrol' | 'enrolled';
  const STEP_SEAL = 'sign-in-step';
  const stepTicket = (uid: string, userId: string, step: Step) =>
    seal(JSON.stringify({ sub: userId, uid, step, exp: Math.floor(accounts.clock.now().getTime() / 1000) + SECOND_STEP_SECONDS }), deps.secrets, STEP_SEAL);
  const stepUser = async (uid: string, sealed: string, step: Step): Promise<User | undefined> => {
    const opened = unseal(sealed, deps.secrets, STEP_SEAL);
    if (!opened) return undefined;
    const note = JSON.parse(opened) as { sub: string; uid: string; step: Step; exp: number };
    if (note.uid !== uid || note.step !== step || note.exp <= accounts.clock.now().getTime() / 1000) return undefined;
    const user = await accounts.users.findById(note.sub);
    // Banned (or deleted) between the two steps: the sign-in ends here.
    return user && user.status === 'active' ? user : undefined;
  };
  const stepExpired = (reply: FastifyReply, uid: string) =>
    page(reply, 400, messagePage('second_factor.title', 'second_factor.expired', [{ href: `/interaction/${uid}`, text: 'link.back_to_sign_in' }]));

  /** A form of the steps after the password: its CSRF token, the pending interaction, the step note.
   * Undefined once the page that says why (forged, expired) was sent. */
  const openStep = async (
    request: FastifyRequest,
    reply: FastifyReply,
    form: { uid: string; csrf: string; ticket: string },
    step: Step,
  ): Promise<{ uid: string; view: InteractionView; user: User } | undefined> => {
    const { uid } = form;
    if (!checkCsrf(uid, form.csrf)) return void forged(reply, uid);
    const view = await viewOf(request, reply);
    if (!view) return undefined;
    const user = await stepUser(uid, form.ticket, step);
    if (!user) return void stepExpired(reply, uid);
    return { uid, view, user };
  };

  const enrolPage = async (reply: FastifyReply, status: number, uid: string, user: User, error?: Words) => {
    const { secret, uri } = await startTotpEnrolment(deps.secondFactors, user);
    return page(reply, status, totpEnrolPage({ csrf: csrfFor(uid), secret, qrSvg: await qrSvg(uri), action: `/interaction/${uid}/mfa/enrol`, ticket: stepTicket(uid, user.id, 'enrol'), required: true, ...(error ? { error } : {}) }));
  };

  /** The sign-in is complete: the device is remembered and the engine gets the account and how it was proved. */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply, user: User, amr: string[]) => {
    deps.metrics.logins.inc({ outcome: 'success' });
    rememberDevice(reply, deps.secureCookies, deviceOf(request, deps.secureCookies), user.email);
    const to = await deps.interactions.finishLogin(request.raw, reply.raw, user.id, { amr });
    return reply.redirect(to, 303);
  };

  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.get('/interaction/:uid', { schema: { params: UidParams, response: pageResponses } }, async (request, reply) => {
      const view = await viewOf(request, reply);
      if (!view) return reply;
      if (view.prompt === 'login') {
        // Step-up: the app asks for a stronger sign-in than this session's (acr_values).
        const stepUp = view.accountId !== undefined && view.requestedAcr === ACR_MFA && view.sessionAcr !== ACR_MFA;
        return page(reply, 200, loginPage({ uid: view.uid, csrf: csrfFor(view.uid), clientName: view.clientName, email: view.loginHint, ...(stepUp ? { notice: 'login.step_up' } : {}) }));
      }
      if (view.prompt === 'consent') {
        const user = view.accountId ? await accounts.users.findById(view.accountId) : undefined;
        const apis = Object.fromEntries(await Promise.all(Object.keys(view.apiScopes).map(async (api) => [api, await deps.apiWords(api)] as const)));
        return page(reply, 200, consentPage({ view, csrf: csrfFor(view.uid), email: user?.email, apis }));
      }
      return page(reply, 400, messagePage('interaction.unsupported.title', 'interaction.unsupported.sentence', ACCOUNT_LINK));
    });

    app.post(
      '/interaction/:uid/login',
      {
        schema: { params: UidParams, body: CredentialsBody, response: pageResponses },
        // A flood that has filled the hashing queue is refused as the request arrives, before its
        // body is read or anything is looked up, and the refusal is held back a moment
        // (refusal-pace.ts): every refusal the event loop works through is time token requests
        // wait (bench/run.ts, mixed). The 503 page is rendered once per language
        // (error-handler.ts). Nothing is counted against anyone, as when the queue refuses; a
        // refusal changes nothing, so it needs no CSRF check.
        onRequest: async () => {
          if (!deps.login.hasher.saturated()) return;
          await refusals.hold();
          throw hashingSaturated();
        },
      },
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
          who: { ...who(request), ip: request.ip },
          trustedDevice: trustedDeviceFor(device, typed),
          clientId: view.clientId,
        });

        if (result.ok) {
          // A second factor, when the account has one (whatever REQUIRE_MFA says: turning the policy
          // off never silently drops a protection someone chose); enrolment first when it is required.
          const status = await secondFactorStatus(deps.secondFactors, result.user.id);
          if (status.methods.length > 0) {
            return page(reply, 200, secondFactorPage({ uid, csrf: csrfFor(uid), ticket: stepTicket(uid, result.user.id, 'second_factor'), clientName: view.clientName, methods: status.methods }));
          }
          if (deps.requireMfa === 'required') return enrolPage(reply, 200, uid, result.user);
          return signedIn(request, reply, result.user, ['pwd']);
        }
        deps.metrics.logins.inc({ outcome: loginOutcomeLabel(result.reason === 'refused' ? result.refusal : result.reason) });
        if (result.reason === 'refused') {
          deps.metrics.throttles.inc({ reason: throttleLabel(result.refusal) });
          if (result.retryAfter > 0) reply.header('retry-after', String(result.retryAfter));
          const error =
            result.refusal === 'ip_banned'
              ? { key: 'login.ip_blocked' }
              : waitWords(result.retryAfter);
          return page(reply, result.refusal === 'ip_banned' ? 403 : 429, loginPage({ uid, csrf: csrfFor(uid), clientName: view.clientName, email: typed, error }));
        }
        if (result.reason === 'unverified') {
          return page(reply, 403, unverifiedPage({ uid, csrf: csrfFor(uid), ticket: ticketFor(uid, result.user.id), email: result.user.email }));
        }
        // Only someone who typed the right password learns about a ban or a disabled password
        // (docs/architecture.md); everyone else sees one message.
        const error =
          result.reason === 'banned'
            ? { key: 'login.banned' }
            : result.reason === 'password_disabled'
              ? { key: 'login.password_disabled' }
              : { key: 'login.failed' };
        const status = result.reason === 'invalid_credentials' ? 401 : 403;
        return page(reply, status, loginPage({ uid, csrf: csrfFor(uid), clientName: view.clientName, email: typed, error }));
      },
    );

    app.post(
      '/interaction/:uid/mfa',
      { schema: { params: UidParams, body: SecondFactorBody, response: pageResponses } },
      async (request, reply) => {
        const step = await openStep(request, reply, { ...request.params, ...request.body }, 'second_factor');
        if (!step) return reply;
        const { uid, view, user } = step;
        const trustedDevice = trustedDeviceFor(deviceOf(request, deps.secureCookies), user.email);
        const result = await checkSecondFactor(deps.secondFactors, {
          user,
          code: request.body.code,
          who: { ...who(request), ip: request.ip },
          clientId: view.clientId,
          ...(trustedDevice ? { trustedDevice } : {}),
        });
        if (result.ok) {
          deps.metrics.secondFactorChecks.inc({ method: 'code', outcome: result.method === 'recovery_code' ? 'recovery_code' : 'success' });
          return signedIn(request, reply, user, result.amr);
        }
        deps.metrics.secondFactorChecks.inc({ method: 'code', outcome: result.reason === 'refused' ? 'throttled' : 'failed' });
        const { methods } = await secondFactorStatus(deps.secondFactors, user.id);
        const again = { uid, csrf: csrfFor(uid), ticket: request.body.ticket, clientName: view.clientName, methods };
        if (result.reason === 'refused') {
          deps.metrics.throttles.inc({ reason: throttleLabel(result.refusal) });
          if (result.retryAfter > 0) reply.header('retry-after', String(result.retryAfter));
          const error = result.refusal === 'ip_banned' ? { key: 'login.ip_blocked' } : waitWords(result.retryAfter);
          return page(reply, result.refusal === 'ip_banned' ? 403 : 429, secondFactorPage({ ...again, error }));
        }
        deps.metrics.logins.inc({ outcome: 'invalid_credentials' });
        return page(reply, 401, secondFactorPage({ ...again, error: { key: 'second_factor.failed' } }));
      },
    );

    // A passkey as the second factor: the script asks for a challenge for this account's passkeys only
    // (JSON), then posts the browser's answer in the form like a code.
    app.post(
      '/interaction/:uid/mfa/passkey/options',
      { schema: { params: UidParams, body: TicketBody, response: { 200: PasskeyOptions, '4xx': ErrorBody, '5xx': ErrorBody } } },
      async (request, reply) => {
        const { uid } = request.params;
        if (!checkCsrf(uid, request.body.csrf)) return sendError(request, reply, new AppError('access_denied', 'The csrf field does not match this sign-in.'));
        const user = await stepUser(uid, request.body.ticket, 'second_factor');
        if (!user) return sendError(request, reply, new AppError('invalid_request', 'This step of the sign-in has expired; sign in again.'));
        return reply.header('cache-control', 'no-store').send(await startAuthentication(deps.passkeys, secondStepBinding(uid), { userId: user.id }));
      },
    );

    app.post(
      '/interaction/:uid/mfa/passkey',
      { schema: { params: UidParams, body: PasskeyStepBody, response: pageResponses } },
      async (request, reply) => {
        const step = await openStep(request, reply, { ...request.params, ...request.body }, 'second_factor');
        if (!step) return reply;
        const { uid, view, user } = step;
        const context = { ...who(request), ip: request.ip, userId: user.id, email: user.email, clientId: view.clientId };
        const answer = await identify(deps.passkeys, request.body.credential);
        const result = answer ? await verifyPasskey(deps.passkeys, answer, secondStepBinding(uid), { userId: user.id }) : ({ ok: false, reason: 'malformed' } as const);
        deps.metrics.secondFactorChecks.inc({ method: 'passkey', outcome: result.ok ? 'success' : 'failed' });
        if (result.ok) {
          await deps.audit.record({ type: 'mfa.succeeded', ...context, detail: { method: 'passkey', purpose: 'sign_in' } });
          // The password, then a user-verified passkey of the account: ['pwd', 'hwk' | 'swk', 'user', 'mfa'].
          return signedIn(request, reply, user, ['pwd', ...result.amr]);
        }
        await deps.audit.record({ type: 'mfa.failed', ...context, detail: { method: 'passkey', reason: result.reason, purpose: 'sign_in' } });
        if (result.reason === 'counter_rollback' && 'passkey' in result && result.passkey) {
          await deps.audit.record({ type: 'passkey.counter_rollback', ...context, detail: { passkey: result.passkey.id.slice(0, 16), stored: result.passkey.counter } });
        }
        deps.metrics.logins.inc({ outcome: 'invalid_credentials' });
        const { methods } = await secondFactorStatus(deps.secondFactors, user.id);
        const error = { key: result.reason === 'challenge' ? 'passkey.error.expired' : 'passkey.error.failed' };
        const status = result.reason === 'malformed' || result.reason === 'challenge' ? 400 : 401;
        return page(reply, status, secondFactorPage({ uid, csrf: csrfFor(uid), ticket: request.body.ticket, clientName: view.clientName, methods, error }));
      },
    );

    app.post(
      '/interaction/:uid/mfa/enrol',
      { schema: { params: UidParams, body: SecondFactorBody, response: pageResponses } },
      async (request, reply) => {
        const step = await openStep(request, reply, { ...request.params, ...request.body }, 'enrol');
        if (!step) return reply;
        const { uid, user } = step;
        try {
          const { recoveryCodes } = await confirmTotpEnrolment(deps.secondFactors, user, request.body.code, { ...who(request), ip: request.ip });
          const ticket = stepTicket(uid, user.id, 'enrolled');
          return page(reply, 200, recoveryCodesPage({ codes: recoveryCodes ?? [], enabled: true, csrf: csrfFor(uid), ticket, continueAction: `/interaction/${uid}/mfa/continue` }));
        } catch (err) {
          if (!(err instanceof FieldError)) throw err;
          return enrolPage(reply, 400, uid, user, { key: 'totp_enrol.failed' });
        }
      },
    );

    app.post(
      '/interaction/:uid/mfa/continue',
      { schema: { params: UidParams, body: TicketBody, response: pageResponses } },
      async (request, reply) => {
        const step = await openStep(request, reply, { ...request.params, ...request.body }, 'enrolled');
        if (!step) return reply;
        const { user } = step;
        // The code that confirmed the app was the second factor of this sign-in.
        return signedIn(request, reply, user, ['pwd', 'otp', 'mfa']);
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
          await signup(accounts, request.body, who(request));
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
        await resendVerification(accounts, userId, who(request));
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
