import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TProperties } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CurrentSession } from '../../accounts/account-sessions.js';
import { renamePasskey, removePasskey } from '../../accounts/passkeys/manage-passkeys.js';
import type { PasskeyDeps } from '../../accounts/passkeys/passkey-deps.js';
import { passkeySignIn, type PasskeySignInDeps } from '../../accounts/passkeys/passkey-sign-in.js';
import { finishRegistration, startRegistration } from '../../accounts/passkeys/register-passkey.js';
import { startAuthentication } from '../../accounts/passkeys/verify-passkey.js';
import type { User } from '../../accounts/users.js';
import { AppError } from '../../errors.js';
import { csrfToken, verifyCsrfToken } from '../../lib/csrf.js';
import { sha256 } from '../../lib/digest.js';
import { trustedDeviceFor } from '../../lib/device-cookie.js';
import { loginOutcomeLabel, throttleLabel } from '../../observability/metric-labels.js';
import type { Metrics } from '../../observability/metrics.js';
import { InteractionNotFound, type Interactions } from '../../oidc/interactions.js';
import { deviceOf, rememberDevice } from '../device.js';
import { sendError } from '../plugins/error-handler.js';
import { allowFormTarget } from '../plugins/page-headers.js';
import { requestContext } from '../request-context.js';
import { Empty, ErrorBody, HtmlPage, pageErrors } from '../schemas.js';
import { loginPage } from '../views/interaction-pages.js';
import { ACCOUNT_LINK, messagePage } from '../views/message-pages.js';
import { sendPage } from '../views/page.js';
import { waitWords } from './interaction.js';
import type { Words } from '../../i18n/messages.js';

/**
 * Passkeys (WebAuthn) on the pages: "Sign in with a passkey" on the login page, and adding, naming
 * and removing passkeys on the account page. The browser's part is /assets/passkeys.js: it fetches
 * the options as JSON, runs navigator.credentials, and submits the answer in an ordinary form, so
 * every outcome is a page or a 303 like the rest of the sign-in. Without JavaScript nothing here is
 * offered and everything else works.
 */

const csrf = Type.String({ maxLength: 200 });
/** A PublicKeyCredential as JSON: a few hundred bytes with attestation `none`. */
const credential = Type.String({ maxLength: 12_000 });
/** A passkey's name as typed; stored trimmed to NAME_MAX (accounts/passkeys/register-passkey.ts). */
const name = Type.String({ maxLength: 200 });
const form = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });

const UidParams = Type.Object({ uid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
const PasskeyParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,1400}$' }) });
const CsrfBody = form({ csrf });
const SignInBody = form({ csrf, credential });
const RegisterBody = form({ csrf, credential, name: Type.Optional(name) });
const RenameBody = form({ csrf, name });
/** The options for navigator.credentials.create/get, as @simplewebauthn/server writes them. */
const Options = Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON' });

const jsonResponses = { 200: Options, '4xx': ErrorBody, '5xx': ErrorBody } as const;
const pageResponses = { 200: HtmlPage, 303: Empty, ...pageErrors } as const;

/** What a refused passkey sign-in or registration says (message keys passkey.error.*). */
const FAILURE_WORDS = {
  malformed: 'passkey.error.failed',
  invalid: 'passkey.error.failed',
  unknown_credential: 'passkey.error.unknown',
  challenge: 'passkey.error.expired',
  counter_rollback: 'passkey.error.failed',
  duplicate: 'passkey.error.duplicate',
} as const;

export interface PasskeySignInRouteDeps {
  interactions: Interactions;
  passkeys: PasskeySignInDeps;
  metrics: Metrics;
  secrets: readonly string[];
  secureCookies: boolean;
}

/** The interaction's CSRF key (the same as the login form's: http/routes/interaction.ts). */
const interactionKey = (uid: string) => `interaction:${uid}`;
/** What a sign-in challenge is bound to: the interaction, whose cookie only this browser holds. */
const signInBinding = (uid: string) => `passkey-sign-in:${uid}`;

export function passkeySignInRoutes(deps: PasskeySignInRouteDeps) {
  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();

    // JSON for the script: the challenge for a discoverable sign-in (also the email field's autofill).
    app.post('/interaction/:uid/passkey/options', { schema: { params: UidParams, body: CsrfBody, response: jsonResponses } }, async (request, reply) => {
      const { uid } = request.params;
      if (!verifyCsrfToken(deps.secrets, interactionKey(uid), request.body.csrf)) return sendError(request, reply, new AppError('access_denied', 'The csrf field does not match this sign-in.'));
      try {
        const view = await deps.interactions.view(request.raw, reply.raw);
        if (view.uid !== uid || view.prompt !== 'login') throw new InteractionNotFound(new Error('not a login step'));
      } catch (err) {
        if (err instanceof InteractionNotFound) return sendError(request, reply, err);
        throw err;
      }
      return reply.header('cache-control', 'no-store').send(await startAuthentication(deps.passkeys, signInBinding(uid), { discoverable: true }));
    });

    app.post('/interaction/:uid/passkey', { schema: { params: UidParams, body: SignInBody, response: pageResponses } }, async (request, reply) => {
      const { uid } = request.params;
      const page = (status: number, error: Words, clientName: string) =>
        sendPage(reply, status, loginPage({ uid, csrf: csrfToken(deps.secrets, interactionKey(uid)), clientName, error }));
      if (!verifyCsrfToken(deps.secrets, interactionKey(uid), request.body.csrf)) {
        return sendPage(reply, 403, messagePage('refused.title', 'refused.interaction_form', [{ href: `/interaction/${uid}`, text: 'link.back_to_sign_in' }, ACCOUNT_LINK]));
      }
      let view;
      try {
        view = await deps.interactions.view(request.raw, reply.raw);
      } catch (err) {
        if (err instanceof InteractionNotFound) return sendPage(reply, 400, messagePage('interaction.expired.title', 'interaction.expired.sentence', ACCOUNT_LINK));
        throw err;
      }
      allowFormTarget(reply, view.returnTo);
      const device = deviceOf(request, deps.secureCookies);
      const result = await passkeySignIn(deps.passkeys, {
        credential: request.body.credential,
        binding: signInBinding(uid),
        who: { ...requestContext(request, view.uiLocales), ip: request.ip },
        trustedDevice: (email) => trustedDeviceFor(device, email),
        clientId: view.clientId,
      });
      if (result.ok) {
        deps.metrics.logins.inc({ outcome: 'success' });
        rememberDevice(reply, deps.secureCookies, device, result.user.email);
        const to = await deps.interactions.finishLogin(request.raw, reply.raw, result.user.id, { amr: result.amr });
        return reply.redirect(to, 303);
      }
      if (result.reason === 'refused') {
        deps.metrics.logins.inc({ outcome: loginOutcomeLabel(result.refusal) });
        deps.metrics.throttles.inc({ reason: throttleLabel(result.refusal) });
        if (result.retryAfter > 0) reply.header('retry-after', String(result.retryAfter));
        return page(result.refusal === 'ip_banned' ? 403 : 429, result.refusal === 'ip_banned' ? { key: 'login.ip_blocked' } : waitWords(result.retryAfter), view.clientName);
      }
      deps.metrics.logins.inc({ outcome: loginOutcomeLabel(result.reason === 'banned' || result.reason === 'unverified' ? result.reason : 'invalid_credentials') });
      // Only the passkey's holder learns of the ban, as only the password's would (docs/architecture.md).
      if (result.reason === 'banned') return page(403, { key: 'login.banned' }, view.clientName);
      if (result.reason === 'unverified') return page(403, { key: 'passkey.error.unverified' }, view.clientName);
      return page(result.reason === 'malformed' || result.reason === 'challenge' ? 400 : 401, { key: FAILURE_WORDS[result.reason] }, view.clientName);
    });
  };
}

export interface PasskeyAccountRouteDeps {
  passkeys: PasskeyDeps;
  currentSession(request: FastifyRequest, reply: FastifyReply): Promise<CurrentSession | undefined>;
  /** The account page's CSRF key for a session (http/routes/account-page.ts). */
  csrfKey(session: CurrentSession): string;
  secrets: readonly string[];
}

/** The account page's passkey forms and the JSON the script needs to create one. */
export function passkeyAccountRoutes(deps: PasskeyAccountRouteDeps) {
  const binding = (session: CurrentSession) => `passkey-register:${sha256(session.id)}`;
  const signInAgain = messagePage('account.session_ended.title', 'account.session_ended.sentence', { href: '/account', text: 'link.sign_in_again' });

  /** The signed-in, active account whose CSRF token the body carries; otherwise the reason. */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply, token: string): Promise<{ user: User; session: CurrentSession } | 'no_session' | 'forged'> => {
    const session = await deps.currentSession(request, reply);
    const user = session ? await deps.passkeys.users.findById(session.accountId) : undefined;
    if (!session || !user || user.status !== 'active') return 'no_session';
    return verifyCsrfToken(deps.secrets, deps.csrfKey(session), token) ? { user, session } : 'forged';
  };
  const refusedPage = (reply: FastifyReply, why: 'no_session' | 'forged') =>
    why === 'no_session' ? sendPage(reply, 401, signInAgain) : sendPage(reply, 403, messagePage('refused.title', 'refused.account_form', ACCOUNT_LINK));
  const back = (reply: FastifyReply) => reply.redirect('/account#passkeys-heading', 303);

  return async function routes(instance: FastifyInstance): Promise<void> {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();

    app.post('/account/passkeys/options', { schema: { body: CsrfBody, response: jsonResponses } }, async (request, reply) => {
      const s = await signedIn(request, reply, request.body.csrf);
      if (s === 'no_session') return sendError(request, reply, new AppError('login_required', 'Sign in first: this browser session is not signed in.'));
      if (s === 'forged') return sendError(request, reply, new AppError('access_denied', 'The csrf field does not match this session.'));
      return reply.header('cache-control', 'no-store').send(await startRegistration(deps.passkeys, s.user, binding(s.session)));
    });

    app.post('/account/passkeys', { schema: { body: RegisterBody, response: pageResponses } }, async (request, reply) => {
      const s = await signedIn(request, reply, request.body.csrf);
      if (typeof s === 'string') return refusedPage(reply, s);
      const result = await finishRegistration(deps.passkeys, s.user, binding(s.session), { credential: request.body.credential, name: request.body.name ?? '' }, requestContext(request));
      if (!result.ok) return sendPage(reply, result.reason === 'duplicate' ? 409 : 400, messagePage('passkey.error.title', FAILURE_WORDS[result.reason], ACCOUNT_LINK));
      return back(reply);
    });

    app.post('/account/passkeys/:id/rename', { schema: { params: PasskeyParams, body: RenameBody, response: pageResponses } }, async (request, reply) => {
      const s = await signedIn(request, reply, request.body.csrf);
      if (typeof s === 'string') return refusedPage(reply, s);
      const renamed = await renamePasskey(deps.passkeys, s.user, request.params.id, request.body.name, requestContext(request));
      return renamed ? back(reply) : sendPage(reply, 404, messagePage('passkey.error.title', 'passkey.error.not_found', ACCOUNT_LINK));
    });

    app.post('/account/passkeys/:id/remove', { schema: { params: PasskeyParams, body: CsrfBody, response: pageResponses } }, async (request, reply) => {
      const s = await signedIn(request, reply, request.body.csrf);
      if (typeof s === 'string') return refusedPage(reply, s);
      const removed = await removePasskey(deps.passkeys, s.user, request.params.id, requestContext(request));
      return removed ? back(reply) : sendPage(reply, 404, messagePage('passkey.error.title', 'passkey.error.not_found', ACCOUNT_LINK));
    });
  };
}
