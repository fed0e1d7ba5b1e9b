/**
 * CSP `form-action` (CSP Level 3 §6.4.1) restricts where a page's forms may navigate, and Chromium
 * applies it to every redirect that follows the submission too. Our sign-in, consent and logout forms
 * post to our own origin, which then redirects the browser to the app (its redirect_uri or
 * post_logout_redirect_uri): that one app's origin must be allowed on that page, and nothing else.
 */
export const FORM_ACTION_SELF = "form-action 'self'";

/** The CSP source expression allowing navigation to `uri`: its origin for http(s), its scheme for
 * a native app's private-use scheme (RFC 8252 §7.1); undefined for anything unusable. */
export function formActionSource(uri: unknown): string | undefined {
  if (typeof uri !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : undefined;
}

/** `policy` with its `form-action 'self'` directive widened by the given sources. */
export function widenFormAction(policy: string, sources: readonly (string | undefined)[]): string {
  const extra = [...new Set(sources.filter((s): s is string => s !== undefined))];
  if (extra.length === 0) return policy;
  return policy.replace(FORM_ACTION_SELF, `${FORM_ACTION_SELF} ${extra.join(' ')}`);
}
