import type { InteractionView } from '../../oidc/interactions.js';
import { html, layout, raw } from './html.js';

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are (your account ID)',
  email: 'See your email address and whether it is confirmed',
  offline_access: 'Stay connected when you are not using it (keep access until you sign out or it expires)',
};

const PASSWORD_HINT = 'At least 8 characters, at most 128. Long passphrases are welcome; very common passwords are refused.';

const errorBlock = (error: string | undefined) => (error ? html`<p class="error" role="alert" id="form-error">${error}</p>` : raw(''));
const describedBy = (error: string | undefined, ...ids: string[]) => [...ids, ...(error ? ['form-error'] : [])].join(' ');

export function loginPage(p: { uid: string; csrf: string; clientName: string; email?: string; error?: string; notice?: string }): string {
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
<p>to continue to <strong>${p.clientName}</strong></p>
${errorBlock(p.error)}
${p.notice ? html`<p class="notice" role="status">${p.notice}</p>` : raw('')}
<form method="post" action="/interaction/${p.uid}/login" novalidate>
<input type="hidden" name="csrf" value="${p.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${p.email ?? ''}" aria-describedby="${describedBy(p.error)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required aria-describedby="${describedBy(p.error)}">
<button type="submit">Sign in</button>
</form>
<nav class="links" aria-label="Account">
<a href="/interaction/${p.uid}/signup">Create an account</a>
<a href="/account/password/forgot?interaction=${p.uid}">Forgot your password?</a>
</nav>
<form method="post" action="/interaction/${p.uid}/abort">
<input type="hidden" name="csrf" value="${p.csrf}">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  );
}

export function signupPage(p: { uid: string; csrf: string; clientName: string; email?: string; error?: string }): string {
  return layout(
    'Create an account',
    html`<h1>Create an account</h1>
<p>to continue to <strong>${p.clientName}</strong></p>
${errorBlock(p.error)}
<form method="post" action="/interaction/${p.uid}/signup" novalidate>
<input type="hidden" name="csrf" value="${p.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required autofocus value="${p.email ?? ''}" aria-describedby="${describedBy(p.error)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" aria-describedby="${describedBy(p.error, 'password-hint')}">
<p class="hint" id="password-hint">${PASSWORD_HINT}</p>
<button type="submit">Create account</button>
</form>
<nav class="links" aria-label="Account">
<a href="/interaction/${p.uid}">I already have an account</a>
</nav>`,
  );
}

/** After a signup: the same page whether the address was new or taken (no enumeration). */
export function checkInboxPage(p: { uid: string; email: string }): string {
  return layout(
    'Check your inbox',
    html`<h1>Check your inbox</h1>
<p role="status">We sent a message to <strong>${p.email}</strong>. Open the link in it to confirm your address, then come back here and sign in.</p>
<p class="muted">No message after a few minutes? Look in your spam folder, or sign up again to get a new one.</p>
<p><a class="button" href="/interaction/${p.uid}">Continue to sign in</a></p>`,
  );
}

/** The right password, but the address is not confirmed yet (REQUIRE_EMAIL_VERIFICATION). */
export function unverifiedPage(p: { uid: string; csrf: string; ticket: string; email: string }): string {
  return layout(
    'Confirm your email address',
    html`<h1>Confirm your email address</h1>
<p class="error" role="alert">Confirm your email address first: open the link in the message we sent to <strong>${p.email}</strong>.</p>
<form method="post" action="/interaction/${p.uid}/resend">
<input type="hidden" name="csrf" value="${p.csrf}">
<input type="hidden" name="ticket" value="${p.ticket}">
<button type="submit">Send the link again</button>
</form>
<p><a href="/interaction/${p.uid}">Back to sign in</a></p>`,
  );
}

export function resentPage(p: { uid: string }): string {
  return layout(
    'Link sent',
    html`<h1>Link sent</h1>
<p role="status">We sent a new confirmation link. Open it, then come back here and sign in.</p>
<p><a class="button" href="/interaction/${p.uid}">Continue to sign in</a></p>`,
  );
}

/**
 * "Remember this choice" (checked by default): when checked, the approval is kept as a grant and this
 * app does not ask again for the same permissions; when unchecked, the approval covers this sign-in
 * only (see Interactions.finishConsent) and the app asks again next time.
 */
/** An API in words, as its operator described it (`resources create --description --scope-description`). */
export interface ApiWords {
  description: string | null;
  scopeDescriptions: Record<string, string>;
}

/**
 * What approved (or requested) scopes let an app do, in words (consent page, account page): OIDC
 * scopes in our words; API scopes in the operator's, named after the API's description, falling back
 * to the scope and the API's audience where the operator wrote none.
 */
export function permissionWords(scopes: readonly string[], apiScopes: Record<string, readonly string[]>, apis: Record<string, ApiWords | undefined> = {}): string[] {
  return [
    ...scopes.map((s) => SCOPE_WORDS[s] ?? s),
    ...Object.entries(apiScopes).flatMap(([api, list]) =>
      list.map((s) => {
        const words = apis[api];
        const what = words?.scopeDescriptions[s];
        const where = words?.description ?? api;
        return what ? `${what} (${where})` : `${s} on ${where}`;
      }),
    ),
  ];
}

export function consentPage(p: { view: InteractionView; csrf: string; email?: string; apis?: Record<string, ApiWords | undefined> }): string {
  const { view } = p;
  const items = permissionWords(view.scopes, view.apiScopes, p.apis);
  return layout(
    'Allow access',
    html`<h1>Allow ${view.clientName}?</h1>
${p.email ? html`<p class="muted">Signed in as <strong>${p.email}</strong></p>` : raw('')}
<p><strong>${view.clientName}</strong> would like to:</p>
<ul class="scopes">${items.map((i) => html`<li>${i}</li>`)}</ul>
<form method="post" action="/interaction/${view.uid}/confirm">
<input type="hidden" name="csrf" value="${p.csrf}">
<p class="check"><input type="checkbox" id="remember" name="remember" value="yes" checked aria-describedby="remember-hint"> <label for="remember">Remember this choice</label></p>
<p class="hint" id="remember-hint">Unchecked, ${view.clientName} will ask again next time.</p>
<button type="submit" autofocus>Allow</button>
</form>
<form method="post" action="/interaction/${view.uid}/abort">
<input type="hidden" name="csrf" value="${p.csrf}">
<button type="submit" class="secondary">Deny</button>
</form>`,
  );
}
