import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors } from 'oidc-provider';
import { AppError, unavailable } from '../errors.js';
import { acrOf, requestedAcr } from './acr.js';
import { isEngineUnavailable } from './engine-errors.js';
import type { ProviderHost } from './provider-host.js';

/** What the login and consent pages need to know about an interaction, without engine types. */
export interface InteractionView {
  uid: string;
  prompt: 'login' | 'consent' | string;
  clientId: string;
  clientName: string;
  /** The account already signed in (consent step). */
  accountId: string | undefined;
  loginHint: string | undefined;
  /** The authorization request's ui_locales (OIDC Core §3.1.2.1): the languages the app asks the pages in. */
  uiLocales: string | undefined;
  /** OIDC scopes to approve (openid, email, offline_access). */
  scopes: string[];
  /** API scopes to approve, by API audience. */
  apiScopes: Record<string, string[]>;
  /** The strongest `acr` the app asked for (acr_values), and the session's current one: the login page
   * says when the app asks for a second factor (step-up). */
  requestedAcr: string | undefined;
  sessionAcr: string | undefined;
  /** Where the browser goes once the interaction ends (the request's redirect_uri, validated by the
   * engine before the interaction began); undefined for the device flow. */
  returnTo: string | undefined;
}

/** How a person proved who they are: RFC 8176 authentication method references (`pwd`, `otp`, `hwk`,
 * `swk`, `user`, `mfa`), in the order the factors were proved. */
export interface SignInProof {
  amr: string[];
}

/** Grants approved without "Remember this choice" carry this id prefix (not in nanoid's alphabet). */
const ONE_TIME_GRANT_PREFIX = 'once.';
const oneTimeGrantId = () => `${ONE_TIME_GRANT_PREFIX}${randomBytes(32).toString('base64url')}`;
export const isOneTimeGrant = (grantId: string) => grantId.startsWith(ONE_TIME_GRANT_PREFIX);

export class InteractionNotFound extends AppError {
  constructor(cause: unknown) {
    super('interaction_expired', 'this sign-in request has expired or was already completed', { cause });
    this.name = 'InteractionNotFound';
  }
}

/** The pages run outside the engine: its 503 (a failing database) becomes ours. */
function outsideTheEngine<A extends unknown[], R>(step: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await step(...args);
    } catch (err) {
      throw isEngineUnavailable(err) ? unavailable('The service is temporarily unavailable; retry shortly.', err) : err;
    }
  };
}

/**
 * The interaction steps Gatehouse's own pages drive: read the pending request, finish the login,
 * record the consent as a Grant, or cancel. Each returns where to send the browser next.
 */
export function createInteractions(host: ProviderHost) {
  const steps = createSteps(host);
  return {
    view: outsideTheEngine(steps.view),
    finishLogin: outsideTheEngine(steps.finishLogin),
    finishConsent: outsideTheEngine(steps.finishConsent),
    abort: outsideTheEngine(steps.abort),
  };
}

function createSteps(host: ProviderHost) {
  const details = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      return await host.current().interactionDetails(req, res);
    } catch (err) {
      if (err instanceof errors.SessionNotFound || err instanceof errors.InvalidRequest) throw new InteractionNotFound(err);
      throw err;
    }
  };

  return {
    async view(req: IncomingMessage, res: ServerResponse): Promise<InteractionView> {
      const interaction = await details(req, res);
      const provider = host.current();
      const client = await provider.Client.find(String(interaction.params.client_id));
      const d = interaction.prompt.details as {
        missingOIDCScope?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      return {
        uid: interaction.uid,
        prompt: interaction.prompt.name,
        clientId: String(interaction.params.client_id),
        clientName: client?.clientName ?? String(interaction.params.client_id),
        accountId: interaction.session?.accountId,
        loginHint: typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : undefined,
        uiLocales: typeof interaction.params.ui_locales === 'string' ? interaction.params.ui_locales : undefined,
        scopes: d.missingOIDCScope ?? [],
        apiScopes: d.missingResourceScopes ?? {},
        requestedAcr: requestedAcr(interaction.params.acr_values),
        sessionAcr: interaction.session?.acr,
        returnTo: typeof interaction.params.redirect_uri === 'string' ? interaction.params.redirect_uri : undefined,
      };
    },

    /** The person proved who they are: a new session for this account (new session id, ASVS 7.2.4),
     * remembering how (the `amr` of its ID and access tokens). */
    async finishLogin(req: IncomingMessage, res: ServerResponse, accountId: string, proof: SignInProof = { amr: ['pwd'] }): Promise<string> {
      await details(req, res);
      return host.current().interactionResult(req, res, { login: { accountId, amr: proof.amr, acr: acrOf(proof.amr) } }, { mergeWithLastSubmission: false });
    },

    /**
     * Grants what the consent page showed, and nothing else. `remember: false` stores the approval as
     * a one-time grant: the tokens of this sign-in work as usual (those bound to the browser session,
     * i.e. without offline_access, end when the app signs in again), but loadExistingGrant never
     * offers the grant to a later authorization request, so the app has to ask again.
     */
    async finishConsent(req: IncomingMessage, res: ServerResponse, options: { remember: boolean }): Promise<string> {
      const provider = host.current();
      const interaction = await details(req, res);
      if (interaction.prompt.name !== 'consent' || !interaction.session?.accountId) {
        throw new InteractionNotFound(new Error('no consent pending'));
      }
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = interaction.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      const owner = { accountId: interaction.session.accountId, clientId: String(interaction.params.client_id) };
      const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
      if (interaction.grantId && !existing) throw new InteractionNotFound(new Error('grant gone'));
      let grant = existing ?? new provider.Grant(owner);
      if (!options.remember) {
        grant = Object.assign(new provider.Grant(owner), { jti: oneTimeGrantId() });
        // What was approved before stays part of this sign-in's grant; it is just not remembered.
        if (existing?.openid?.scope) grant.addOIDCScope(existing.openid.scope);
        if (existing?.openid?.claims) grant.addOIDCClaims(existing.openid.claims);
        for (const [indicator, scope] of Object.entries(existing?.resources ?? {})) grant.addResourceScope(indicator, scope);
      }
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      return provider.interactionResult(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    },

    async abort(req: IncomingMessage, res: ServerResponse): Promise<string> {
      await details(req, res);
      return host.current().interactionResult(
        req,
        res,
        { error: 'access_denied', error_description: 'The user cancelled the request.' },
        { mergeWithLastSubmission: false },
      );
    },
  };
}

export type Interactions = ReturnType<typeof createInteractions>;
