import { randomBytes } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TProperties } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CurrentSession } from '../../accounts/account-sessions.js';
import type { Passkey } from '../../accounts/passkeys/passkey-store.js';
import { checkOneTimeToken, TOKEN_PROBLEMS } from '../../accounts/check-token.js';
import {
  accountOverview,
  changePassword,
  confirmEmailChange,
  deleteAccount,
  disconnectApp,
  endSession,
  requestEmailChange,
  signOutEverywhere,
  type Actor,
  type SelfServiceDeps,
} from '../../accounts/self-service.js';
import { AppError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import { csrfToken, verifyCsrfToken } from '../../lib/csrf.js';
import { sha256 } from '../../lib/digest.js';
import { trustedDeviceFor } from '../../lib/device-cookie.js';
import { deviceOf } from '../device.js';
import { formSentence } from '../form-errors.js';
import { sendError, sendErrorPage } from '../plugins/error-handler.js';
import { isFormRequest } from '../plugins/strict-input.js';
import { requestContext } from '../request-context.js';
import { Empty, ErrorBody, HtmlPage, Nullable, StringEnum } from '../schemas.js';
import type { SecondFactorStatus } from '../../accounts/mfa/second-factors.js';
import { accountHomePage, type AccountSection } from '../views/account-home.js';
import { type ApiWords, permissionWords } from '../views/interaction-pages.js';
import { ACCOUNT_LINK, messagePage, type PageLink } from '../views/message-pages.js';
import { page as pageOf, sendPage, type Page, type Say } from '../views/page.js';

export interface AccountPageDeps {
  selfService: SelfServiceDeps;
  /** The signed-in session of this browser (oidc/account-sessions.ts). */
  currentSession(request: FastifyRequest, reply: FastifyReply): Promise<CurrentSession | undefined>;
  /** Where to send a browser with no session: an authorization request of Gatehouse's own client. */
  signInUrl(state: string, codeChallenge: string): string;
  clientName(clientId: string): Promise<string>;
  apiWords(audience: string): Promise<ApiWords | undefined>;
  secrets: readonly string[];
  secureCookies: boolean;
  metrics: Metrics;
  /** The account's passkeys, listed in their section (accounts/passkeys/). */
  passkeys?(userId: string): Promise<Passkey[]>;
  /** The account's authenticator app and recovery codes (accounts/mfa/), shown by /account/me. */
  secondFactors?(userId: string): Promise<SecondFactorStatus>;
}

/** The key every account-page CSRF token is bound to: the browser's session. */
export const accountCsrfKey = (session: CurrentSession) => `account-page:${sha256(session.id)}`;

/** The account page's events in gatehouse_account_events_total (a closed set of label values). */
type AccountEvent = 'password_changed' | 'email_change_requested' | 'session_ended' | 'app_disconnected' | 'signed_out_everywhere' | 'account_deleted';

/** What the JSON API says after an action that worked; the page says it in the person's language
 * (`/account?done=…`, message keys account.done.*). */
const DONE = {
  password: 'Your password was changed. Every other device was signed out.',
  email: 'We sent a link to the new address. Your address changes when you open it.',
  session: 'The session was signed out.',
  app: 'The app was disconnected. It will have to ask you again to use your account.',
} as const;
type Done = keyof typeof DONE;

/** Why `/account/signed-out` is shown (message keys account.signed_out.<why>.*). */
const SIGNED_OUT = ['session', 'everywhere', 'deleted'] as const;

const STATE_COOKIE = 'gatehouse_account_state';
const STATE_TTL_SECONDS = 30 * 60;

const csrf = Type.String({ maxLength: 200 });
const password = Type.String({ maxLength: 4096 });
const form = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });

const PasswordBody = form({ csrf, current_password: password, new_password: password });
const EmailBody = form({ csrf, email: Type.String({ maxLength: 320 }), password });
const DeleteBody = form({ csrf, password });
const CsrfBody = form({ csrf });
const TokenBody = form({ token: Type.String({ maxLength: 200 }), csrf: Type.Optional(csrf) });
const HomeQuery = Type.Object({ done: Type.Optional(StringEnum(Object.keys(DONE) as Done[])) });
const SignedOutQuery = Type.Object({ why: Type.Optional(StringEnum([...SIGNED_OUT])) });
const CallbackQuery = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 200 })),
  code: Type.Optional(Type.String({ maxLength: 500 })),
  iss: Type.Optional(Type.String({ maxLength: 500 })),
  error: Type.Optional(Type.String({ maxLength: 200 })),
  error_description: Type.Optional(Type.String({ maxLength: 1000 })),
});
const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) });
const SessionParams = Type.Object({ uid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
const AppParams = Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 200 }) });

const Overview = Type.Object({
  email: Type.String(),
  email_verified: Type.Boolean(),
  created_at: Type.String(),
  /** The CSRF token every POST of this session carries (`csrf` in the body). */
  csrf: Type.String(),
  sessions: Type.Array(
    Type.Object({
      id: Type.String(),
      current: Type.Boolean(),
      signed_in_at: Nullable(Type.String()),
      expires_at: Nullable(Type.String()),
      apps: Type.Array(Type.Object({ client_id: Type.String(), name: Type.String() })),
    }),
  ),
  apps: Type.Array(
    Type.Object({
      client_id: Type.String(),
      name: Type.String(),
      scopes: Type.Array(Type.String()),
      apis: Type.Record(Type.String(), Type.Array(Type.String())),
    }),
  ),
  /** What the account signs in with besides its password. */
  second_factors: Type.Object({
    authenticator_app: StringEnum(['none', 'pending', 'enabled']),
    recovery_codes_left: Type.Integer(),
    passkeys: Type.Array(
      Type.Object({ id: Type.String(), name: Type.String(), synced: Type.Boolean(), created_at: Type.String(), last_used_at: Nullable(Type.String()) }),
    ),
  }),
});
const Revoked = Type.Object({ revoked: Type.Integer() });
const Accepted = Type.Object({ message: Type.String() });

/** A POST answers a form with a page or a 303, and JSON with JSON; errors likewise. */
const formOrJson = { 303: Empty, '4xx': ErrorBody, '5xx': ErrorBody } as const;
const pageOnly = { 200: HtmlPage, 303: Empty, '4xx': HtmlPage, '5xx': HtmlPage } as const;

/**
 * The account page (`/account`) and its JSON API. Both are authenticated by the engine's browser
 * session (the one the sign-in pages create); every POST carries a CSRF token bound to that session.
 * The use cases are in accounts/self-service.ts.
 */
export function accountPageRoutes(deps: AccountPageDeps) {
  const { selfService, secrets } = deps;
  const csrfKey = accountCsrfKey;
  const page = (reply: FastifyReply, status: number, body: Page) => sendPage(reply, status, body);
  const toAccount = ACCOUNT_LINK;
  const signInAgain: PageLink = { href: '/account', text: 'link.sign_in_again' };

  /** The signed-in person, or undefined (the session is gone, or its account is). */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = await deps.currentSession(request, reply);
    if (!session) return undefined;
    const user = await selfService.users.findById(session.accountId);
    if (!user || user.status !== 'active') return undefined;
    return { session, user };
  };

  const actorOf = (request: FastifyRequest, s: { session: CurrentSession; user: Actor['user'] }): Actor => {
    const trusted = trustedDeviceFor(deviceOf(request, deps.secureCookies), s.user.email);
    return { user: s.user, sessionId: s.session.id, who: { ...requestContext(request), ip: request.ip }, ...(trusted ? { trustedDevice: trusted } : {}) };
  };

  const render = async (reply: FastifyReply, status: number, s: { session: CurrentSession; user: Actor['user'] }, extra: { notice?: Say; error?: { section: AccountSection; sentence: Say }; typedEmail?: string } = {}) => {
    const overview = await accountOverview(selfService, { user: s.user, sessionId: s.session.id, sessionUid: s.session.uid });
    const names = new Map<string, string>();
    const nameOf = async (id: string) => names.get(id) ?? (names.set(id, await deps.clientName(id)), names.get(id)!);
    const sessions = await Promise.all(overview.sessions.map(async (x) => ({ uid: x.uid, signedInAt: x.signedInAt, current: x.current, apps: await Promise.all(x.clientIds.map(nameOf)) })));
    const apps = await Promise.all(
      overview.apps.map(async (a) => {
        const words = Object.fromEntries(await Promise.all(Object.keys(a.apis).map(async (api) => [api, await deps.apiWords(api)] as const)));
        return { clientId: a.clientId, name: await nameOf(a.clientId), permissions: permissionWords(a.scopes, a.apis, words) };
      }),
    );
    const passkeys = ((await deps.passkeys?.(s.user.id)) ?? []).map((p) => ({ id: p.id, name: p.name, synced: p.deviceType === 'multiDevice', createdAt: p.createdAt, lastUsedAt: p.lastUsedAt }));
    return page(reply, status, accountHomePage({ csrf: csrfToken(secrets, csrfKey(s.session)), email: overview.email, emailVerified: overview.emailVerified, sessions, apps, passkeys, ...extra }));
  };

  /**
   * One POST of the page or the API: the session and its CSRF token first, then the action. A form
   * that worked goes on with a 303; a refused one shows the page again with the reason in its section.
   */
  const action = <B extends { csrf: string }>(
    section: AccountSection,
    event: AccountEvent,
    run: (actor: Actor, body: B, request: FastifyRequest, session: CurrentSession) => Promise<{ json: () => [number, unknown?]; form: string }>,
  ) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body as B;
      const isForm = isFormRequest(request);
      const s = await signedIn(request, reply);
      if (!s) {
        if (isForm) return page(reply, 401, messagePage('account.session_ended.title', 'account.session_ended.sentence', signInAgain));
        throw new AppError('login_required', 'Sign in first: this browser session is not signed in.');
      }
      if (!verifyCsrfToken(secrets, csrfKey(s.session), body.csrf)) {
        if (isForm) return page(reply, 403, messagePage('refused.title', 'refused.account_form', toAccount));
        throw new AppError('access_denied', 'The csrf field does not match this session; read it from GET /account/me.');
      }
      try {
        const done = await run(actorOf(request, s), body, request, s.session);
        deps.metrics.accountEvents.inc({ event });
        if (!isForm) {
          const [status, payload] = done.json();
          return payload === undefined ? reply.code(status).send() : reply.code(status).send(payload);
        }
        return reply.redirect(done.form, 303);
      } catch (err) {
        if (!isForm || !(err instanceof AppError) || err.statusCode >= 500) throw err;
        const sentence = formSentence(err) ?? { key: `error.${err.code}`, fallback: err.message };
        reply.headers(err.headers);
        const typedEmail = section === 'email' ? (body as unknown as { email?: string }).email : undefined;
        return render(reply, err.statusCode, s, { error: { section, sentence }, ...(typedEmail ? { typedEmail } : {}) });
      }
    };

  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler((error, request, reply) =>
      request.method === 'GET' && !request.url.startsWith('/account/me') ? sendErrorPage(request, reply, error) : isFormRequest(request) ? sendErrorPage(request, reply, error) : sendError(request, reply, error),
    );
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });

    app.get('/account', { schema: { querystring: HomeQuery, response: pageOnly } }, async (request, reply) => {
      const s = await signedIn(request, reply);
      if (s) return render(reply, 200, s, request.query.done ? { notice: `account.done.${request.query.done}` } : {});
      // No session: an ordinary authorization request of our own client runs the sign-in pages; the
      // callback comes back here. PKCE is required of every client; the code is never redeemed (the
      // session is the credential), so the verifier is not kept.
      const state = randomBytes(24).toString('base64url');
      const challenge = sha256(randomBytes(32).toString('base64url'));
      reply.setCookie(STATE_COOKIE, state, { path: '/account', maxAge: STATE_TTL_SECONDS, httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, signed: true });
      return reply.redirect(deps.signInUrl(state, challenge), 303);
    });

    app.get('/account/callback', { schema: { querystring: CallbackQuery, response: pageOnly } }, async (request, reply) => {
      const raw = request.cookies[STATE_COOKIE];
      const opened = raw ? request.unsignCookie(raw) : undefined;
      reply.clearCookie(STATE_COOKIE, { path: '/account' });
      if (request.query.error) {
        return page(reply, 400, messagePage('account.cancelled.title', 'account.cancelled.sentence', signInAgain));
      }
      if (!opened?.valid || !request.query.state || opened.value !== request.query.state) {
        return page(reply, 400, messagePage('account.expired.title', 'account.expired.sentence', signInAgain));
      }
      return reply.redirect('/account', 303);
    });

    app.get('/account/signed-out', { schema: { querystring: SignedOutQuery, response: pageOnly } }, async (request, reply) => {
      const why = request.query.why ?? 'session';
      return page(reply, 200, messagePage(`account.signed_out.${why}.title`, `account.signed_out.${why}.sentence`, why === 'deleted' ? undefined : signInAgain));
    });

    app.get('/account/me', { schema: { response: { 200: Overview, '4xx': ErrorBody, '5xx': ErrorBody } } }, async (request, reply) => {
      const s = await signedIn(request, reply);
      if (!s) throw new AppError('login_required', 'Sign in first: this browser session is not signed in.');
      const o = await accountOverview(selfService, { user: s.user, sessionId: s.session.id, sessionUid: s.session.uid });
      const [factors, passkeys] = await Promise.all([deps.secondFactors?.(s.user.id), deps.passkeys?.(s.user.id) ?? []]);
      return reply.send({
        email: o.email,
        email_verified: o.emailVerified,
        created_at: o.createdAt.toISOString(),
        csrf: csrfToken(secrets, csrfKey(s.session)),
        sessions: await Promise.all(
          o.sessions.map(async (x) => ({
            id: x.uid,
            current: x.current,
            signed_in_at: x.signedInAt?.toISOString() ?? null,
            expires_at: x.expiresAt?.toISOString() ?? null,
            apps: await Promise.all(x.clientIds.map(async (id) => ({ client_id: id, name: await deps.clientName(id) }))),
          })),
        ),
        apps: await Promise.all(o.apps.map(async (a) => ({ client_id: a.clientId, name: await deps.clientName(a.clientId), scopes: a.scopes, apis: a.apis }))),
        second_factors: {
          authenticator_app: factors?.totp ?? 'none',
          recovery_codes_left: factors?.recoveryCodesLeft ?? 0,
          passkeys: passkeys.map((p) => ({ id: p.id, name: p.name, synced: p.deviceType === 'multiDevice', created_at: p.createdAt.toISOString(), last_used_at: p.lastUsedAt?.toISOString() ?? null })),
        },
      });
    });

    app.post(
      '/account/password',
      { schema: { body: PasswordBody, response: { ...formOrJson, 200: Revoked } } },
      action<typeof PasswordBody.static>('password', 'password_changed', async (actor, body) => {
        const { revoked } = await changePassword(selfService, actor, { currentPassword: body.current_password, newPassword: body.new_password });
        return { json: () => [200, { revoked }], form: '/account?done=password' };
      }),
    );

    app.post(
      '/account/email',
      { schema: { body: EmailBody, response: { ...formOrJson, 202: Accepted } } },
      action<typeof EmailBody.static>('email', 'email_change_requested', async (actor, body) => {
        await requestEmailChange(selfService, actor, { email: body.email, password: body.password });
        return { json: () => [202, { message: DONE.email }], form: '/account?done=email' };
      }),
    );

    app.post(
      '/account/sessions/:uid/end',
      { schema: { params: SessionParams, body: CsrfBody, response: { ...formOrJson, 204: Empty } } },
      action<typeof CsrfBody.static>('sessions', 'session_ended', async (actor, _body, request, session) => {
        const { uid } = request.params as { uid: string };
        const current = session.uid === uid;
        await endSession(selfService, actor, uid);
        return { json: () => [204], form: current ? '/account/signed-out?why=session' : '/account?done=session' };
      }),
    );

    app.post(
      '/account/apps/:clientId/disconnect',
      { schema: { params: AppParams, body: CsrfBody, response: { ...formOrJson, 204: Empty } } },
      action<typeof CsrfBody.static>('apps', 'app_disconnected', async (actor, _body, request) => {
        await disconnectApp(selfService, actor, (request.params as { clientId: string }).clientId);
        return { json: () => [204], form: '/account?done=app' };
      }),
    );

    app.post(
      '/account/sign-out-everywhere',
      { schema: { body: CsrfBody, response: { ...formOrJson, 200: Revoked } } },
      action<typeof CsrfBody.static>('sessions', 'signed_out_everywhere', async (actor) => {
        const { revoked } = await signOutEverywhere(selfService, actor);
        return { json: () => [200, { revoked }], form: '/account/signed-out?why=everywhere' };
      }),
    );

    app.post(
      '/account/delete',
      { schema: { body: DeleteBody, response: { ...formOrJson, 204: Empty } } },
      action<typeof DeleteBody.static>('delete', 'account_deleted', async (actor, body) => {
        await deleteAccount(selfService, actor, { password: body.password });
        return { json: () => [204], form: '/account/signed-out?why=deleted' };
      }),
    );

    // The link mailed to a new address: a GET shows one button (mail scanners prefetch links).
    const tokenKey = (token: string) => `account:change-email:${sha256(token)}`;
    app.get('/account/email/confirm', { schema: { querystring: TokenQuery, response: pageOnly } }, async (request, reply) => {
      const { token } = request.query;
      const check = await checkOneTimeToken(selfService, token, 'change_email');
      if (!check.ok) return page(reply, 400, messagePage('link_problem.title', [{ key: `token.${check.reason}` }, { key: 'token.change_again' }], toAccount));
      return page(
        reply,
        200,
        pageOf('confirm-email-change', { token: token!, csrf: csrfToken(secrets, tokenKey(token!)) }),
      );
    });

    app.post('/account/email/confirm', { schema: { body: TokenBody, response: { 200: HtmlPage, 204: Empty, '4xx': ErrorBody, '5xx': ErrorBody } } }, async (request, reply) => {
      const isForm = isFormRequest(request);
      const { token } = request.body;
      if (isForm && !verifyCsrfToken(secrets, tokenKey(token), request.body.csrf)) {
        return page(reply, 403, messagePage('refused.title', 'refused.link_form', toAccount));
      }
      const result = await confirmEmailChange(selfService, token, requestContext(request));
      if (result.ok) deps.metrics.accountEvents.inc({ event: 'email_changed' });
      if (!result.ok) {
        const sentence = [{ key: `token.${result.reason}` }, { key: 'token.change_again' }];
        if (!isForm) throw new AppError(result.reason === 'invalid' ? 'link_invalid' : result.reason === 'used' ? 'token_used' : 'token_expired', TOKEN_PROBLEMS[result.reason]);
        return page(reply, 400, messagePage('link_problem.title', sentence, toAccount));
      }
      return isForm ? page(reply, 200, messagePage('email_changed.title', { key: 'email_changed.sentence', vars: { email: result.user.email } }, toAccount)) : reply.code(204).send();
    });
  };
}
