import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * Authentication context classes (OIDC Core §2 `acr`), weakest first. A person who proved two factors
 * (password + authenticator code or recovery code; later a user-verified passkey, which is two factors
 * in one) signed in at `mfa`; a password alone at `pwd`. docs/second-factors.md.
 */
export const ACR_PWD = 'urn:gatehouse:acr:pwd';
export const ACR_MFA = 'urn:gatehouse:acr:mfa';
export const ACR_VALUES = [ACR_PWD, ACR_MFA] as const;

/** The class a sign-in reached, from its RFC 8176 `amr`. */
export const acrOf = (amr: readonly string[]): string => (amr.includes('mfa') ? ACR_MFA : ACR_PWD);

const strength = (acr: string | undefined) => (acr === undefined ? -1 : ACR_VALUES.indexOf(acr as (typeof ACR_VALUES)[number]));

/** The strongest class an authorization request's `acr_values` names (unknown values are ignored), if any. */
export function requestedAcr(acrValues: unknown): string | undefined {
  if (typeof acrValues !== 'string') return undefined;
  const known = acrValues.split(' ').filter((v) => strength(v) >= 0);
  return known.sort((a, b) => strength(b) - strength(a))[0];
}

/**
 * Step-up: the engine's login prompt, plus one check. An authorization request whose `acr_values`
 * names a class stronger than the session's asks for a fresh sign-in (OIDC Core §3.1.2.1: acr_values
 * are voluntary, so once the person has signed in again the result stands even if it is weaker, and
 * the app reads `acr` from the ID token to decide). `max_age` and `prompt=login` are the engine's own.
 */
export function interactionPolicyWithStepUp() {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
  login.checks.add(
    new interactionPolicy.Check('acr_step_up', 'a stronger sign-in was requested', (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      if (!oidc.session?.accountId || oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const wanted = requestedAcr(oidc.params?.acr_values);
      return wanted !== undefined && strength(oidc.session.acr) < strength(wanted) ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

/**
 * Access tokens carry how their person signed in (`acr`, `amr`), like the ID token: an API can refuse
 * a token from a password-only sign-in for a sensitive action. Copied from the code, refresh token or
 * device code the token is issued from; client-credentials tokens have no person and get neither.
 */
export async function signInClaims(ctx: KoaContextWithOIDC, token: { accountId?: string }): Promise<Record<string, unknown> | undefined> {
  if (!token.accountId) return undefined;
  const entities = ctx.oidc?.entities as Record<string, { acr?: string; amr?: string[] } | undefined> | undefined;
  const source = entities?.AuthorizationCode ?? entities?.RefreshToken ?? entities?.DeviceCode;
  if (!source) return undefined;
  return { ...(source.acr ? { acr: source.acr } : {}), ...(source.amr ? { amr: source.amr } : {}) };
}
